// The racks list: each rack with its utilization (one GET /api/racks for all of them),
// create / edit / delete, open one rack or several side by side.
import { api, session } from "../api.js";
import { attempt, clear, confirmDialog, h, toast } from "../ui.js";
import { rackDialog, rackSummary, utilizationMeters } from "./rack-form.js";

export async function render(root, { navigate }) {
  const canEdit = session.can("editor");
  const selected = new Set();
  let racks = [];

  const list = h("div", { class: "cards rack-cards" });
  const count = h("p", { class: "muted rack-count", role: "status" });  // read out on filtering
  const openSelected = h("button", {
    type: "button", disabled: true,
    onclick: () => navigate(`#/racks/${[...selected].join(",")}`),
  }, "Open side by side");
  const filter = h("input", {
    type: "search", placeholder: "Filter racks…", "aria-label": "Filter racks by name or location",
    oninput: () => draw(),
  });

  root.append(
    h("div", { class: "toolbar" },
      h("h1", {}, "Racks"),
      h("span", { class: "spacer" }),
      filter,
      openSelected,
      canEdit ? h("button", { type: "button", class: "primary", onclick: create }, "New rack") : null),
    count, list);

  async function load() {
    racks = await api.all("/api/racks");
    for (const id of [...selected]) if (!racks.some((r) => r.id === id)) selected.delete(id);
    draw();
  }

  function updateSelection() {
    openSelected.disabled = selected.size < 2;
    openSelected.textContent = selected.size >= 2 ? `Open ${selected.size} side by side` : "Open side by side";
  }

  function draw() {
    const needle = filter.value.trim().toLowerCase();
    const shown = racks.filter((r) => !needle || r.name.toLowerCase().includes(needle)
      || (r.location || "").toLowerCase().includes(needle));
    updateSelection();
    count.textContent = needle ? `${shown.length} of ${racks.length} racks` : `${racks.length} rack${racks.length === 1 ? "" : "s"}`;
    if (!racks.length) {
      clear(list, h("p", { class: "muted" }, canEdit ? "No racks yet: create the first one." : "No racks yet."));
      return;
    }
    if (!shown.length) {
      clear(list, h("p", { class: "muted" }, "No rack matches the filter."));
      return;
    }
    clear(list, shown.map(card));
  }

  function card(r) {
    const box = h("input", {
      type: "checkbox", checked: selected.has(r.id), "aria-label": `Select ${r.name}`,
      onchange: () => {
        if (box.checked) selected.add(r.id);
        else selected.delete(r.id);
        updateSelection();
      },
    });
    return h("article", { class: "card rack-card", dataset: { rackId: r.id }, "aria-label": r.name },
      h("div", { class: "rack-card-head" },
        h("label", { class: "rack-select", title: "Select to open side by side" }, box),
        h("h2", {}, h("a", { href: `#/racks/${r.id}` }, r.name))),
      h("p", { class: "muted rack-card-facts" },
        [r.location, rackSummary(r)].filter(Boolean).join(" · ")),
      utilizationMeters(r.utilization),
      r.notes ? h("p", { class: "rack-card-notes" }, r.notes) : null,
      h("div", { class: "actions" },
        h("a", { class: "button", href: `#/racks/${r.id}` }, "Open"),
        canEdit ? h("button", { type: "button", onclick: () => edit(r), "aria-label": `Edit ${r.name}` }, "Edit") : null,
        canEdit ? h("button", { type: "button", class: "danger", onclick: () => remove(r), "aria-label": `Delete ${r.name}` }, "Delete") : null));
  }

  async function create() {
    const rack = await rackDialog();
    if (!rack) return;
    toast(`Rack ${rack.name} created.`, "ok");
    await attempt(load);
  }

  async function edit(r) {
    const rack = await rackDialog(r);
    if (!rack) return;
    toast(`Rack ${rack.name} saved.`, "ok");
    await attempt(load);
  }

  async function remove(r) {
    if (!await confirmDialog(`Delete rack ${r.name}? This cannot be undone.`)) return;
    // The API refuses while the rack holds devices; attempt() shows its reason.
    const done = await attempt(async () => { await api.delete(`/api/racks/${r.id}`); return true; });
    if (!done) return;
    selected.delete(r.id);
    toast(`Rack ${r.name} deleted.`, "ok");
    await attempt(load);
  }

  await load();
}
