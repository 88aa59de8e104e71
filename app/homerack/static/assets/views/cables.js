// The rack's cables (connections) and its cable BOM, mounted by the rack view below each
// rack's elevation. Two calls per (re)load: the rack's connections and its BOM. Adding,
// editing or removing a cable re-reads both; the elevation does not depend on cables, so
// the rack view is left alone.
import { api, errorMessage, session } from "../api.js";
import { confirmDialog, h, showError, toast } from "../ui.js";
import { renderBom } from "./cable-bom.js";
import { allItems, cableName } from "./cable-common.js";
import { cableDialog } from "./cable-dialog.js";

// mountCables(el, {rack, reload}): rack = GET /api/racks/{id} (with its devices);
// reload() re-reads the rack and re-renders the rack view.
export async function mountCables(el, { rack }) {
  const canWrite = session.can("editor");
  const titleId = `cables-title-${rack.id}`;
  const list = h("div", { class: "cable-list" });
  const bomEl = h("section", { class: "bom", "aria-labelledby": `bom-title-${rack.id}` });
  const status = h("span", { class: "muted cable-count", role: "status" });
  const addButton = canWrite ? h("button", { type: "button", class: "primary", "aria-label": `Add cable to ${rack.name}`, onclick: () => add() }, "Add cable") : null;
  el.classList.add("cables");
  el.replaceChildren(
    h("div", { class: "toolbar cables-head" }, h("h2", { id: titleId }, "Cables"), status, h("span", { class: "spacer" }), addButton),
    list, bomEl);
  if (!el.hasAttribute("aria-labelledby")) el.setAttribute("aria-labelledby", titleId);

  const inRack = new Set((rack.devices || []).map((d) => d.id));
  let outside = null;  // the whole inventory's devices and racks, once asked for
  const loadOutside = async () => {
    if (!outside) {
      const [devices, racks] = await Promise.all([allItems("/api/devices"), allItems("/api/racks")]);
      outside = { devices, racks };
    }
    return outside;
  };

  async function refresh() {
    try {
      const [connections, bom] = await Promise.all([
        allItems(`/api/connections?rack_id=${rack.id}`), api.get(`/api/racks/${rack.id}/bom`)]);
      renderList(connections);
      renderBom(bomEl, rack, bom);
    } catch (err) {
      showError(err);
      list.replaceChildren(h("div", { class: "load-error", role: "alert" },
        h("p", {}, `The cables could not be loaded. ${errorMessage(err)}`),
        h("button", { type: "button", onclick: () => refresh() }, "Try again")));
    }
  }

  const describe = (c) => `${c.device_a} ↔ ${c.device_b}`;

  function endCell(name, id) {
    return inRack.has(id) ? name : h("span", { class: "far-end" }, name, " ", h("span", { class: "badge" }, "other rack"));
  }

  function renderList(connections) {
    // The rack's name too: with racks side by side there is one section per rack.
    status.textContent = `${rack.name} · ${connections.length} ${connections.length === 1 ? "connection" : "connections"}`;
    if (!connections.length) {
      list.replaceChildren(h("p", { class: "muted" }, canWrite ? "No cables yet: add the first one." : "No cables yet."));
      return;
    }
    const sorted = [...connections].sort((a, b) => a.device_a.localeCompare(b.device_a) || a.device_b.localeCompare(b.device_b));
    list.replaceChildren(h("div", { class: "table-wrap" }, h("table", { class: "cable-table flow", "aria-label": `Cables of ${rack.name}` },
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Device A"), h("th", { scope: "col", "aria-label": "connects to" }, ""),
        h("th", { scope: "col" }, "Device B"), h("th", { scope: "col" }, "Type"),
        h("th", { scope: "col", class: "num" }, "Count"), h("th", { scope: "col" }, "Label"),
        canWrite ? h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")) : null)),
      h("tbody", {}, sorted.map((c) => h("tr", { dataset: { connectionId: c.id } },
        h("td", { class: "lead", "data-label": "Device A" }, endCell(c.device_a, c.device_a_id)),
        h("td", { class: "lead cable-arrow", "aria-hidden": "true" }, "↔"),
        h("td", { class: "lead br", "data-label": "Device B" }, endCell(c.device_b, c.device_b_id)),
        h("td", { "data-label": "Type" }, h("span", { class: `cable-type type-${c.cable_type}` }, cableName(c.cable_type))),
        h("td", { class: "num", "data-label": "Count" }, c.count),
        h("td", { "data-label": "Label" }, c.label || h("span", { class: "muted" }, "–")),
        canWrite ? h("td", { class: "row-actions" },
          h("button", { type: "button", "aria-label": `Edit cable ${describe(c)}`, onclick: () => edit(c) }, "Edit"),
          h("button", { type: "button", class: "danger", "aria-label": `Remove cable ${describe(c)}`, onclick: () => remove(c) }, "Remove"))
          : null))))));
  }

  async function add() {
    const saved = await cableDialog({
      title: `Add a cable to ${rack.name}`, rack, loadOutside,
      submit: (values) => api.post("/api/connections", values),
    });
    if (saved) {
      toast(`Cable ${describe(saved)} added.`, "ok");
      await refresh();
    }
  }

  async function edit(connection) {
    const saved = await cableDialog({
      title: `Edit cable ${describe(connection)}`, rack, connection, loadOutside,
      submit: (values) => {
        // Only what changed: a PATCH of an unchanged end must not trip a rule on the other.
        const changed = Object.fromEntries(Object.entries(values).filter(([k, v]) => v !== (connection[k] ?? "")));
        return Object.keys(changed).length ? api.patch(`/api/connections/${connection.id}`, changed) : connection;
      },
    });
    if (saved && saved !== connection) {
      toast(`Cable ${describe(saved)} saved.`, "ok");
      await refresh();
    }
  }

  async function remove(connection) {
    const what = `${connection.count} × ${cableName(connection.cable_type)}${connection.label ? ` “${connection.label}”` : ""}`;
    if (!await confirmDialog(`Remove the cable ${describe(connection)} (${what})?`, "Remove")) return;
    try {
      await api.delete(`/api/connections/${connection.id}`);
      toast(`Cable ${describe(connection)} removed.`, "ok");
    } catch (err) {
      showError(err);
    }
    await refresh();
  }

  list.append(h("p", { class: "muted" }, "Loading cables…"));
  await refresh();
}
