// The rack view (#/racks/1 or #/racks/1,2 side by side): each rack's facts, utilization
// and true-to-scale front elevation, device moves (drag, keyboard, Move… dialog), the
// device panel, adding devices, the optimizer, and each rack's cables section.
// After a change only the racks concerned are read again (one GET /api/racks/{id} each).
import { api, errorMessage, session } from "../api.js";
import { attempt, clear, fmt, h, showError, toast } from "../ui.js";
import { applyScale, drawElevation, fitScale, span } from "./elevation.js";
import { attachMoves } from "./elevation-drag.js";
import { addDeviceDialog } from "./rack-add.js";
import { deviceDetails } from "./rack-device.js";
import { rackDialog, rackSummary, utilizationMeters } from "./rack-form.js";

let hints = 0;

export async function render(root, { params }) {
  const ids = [...new Set(params[0].split(",").map(Number))];
  const canEdit = session.can("editor");
  const racks = new Map();          // id -> GET /api/racks/{id}
  const columns = new Map();        // id -> {col, head, elev, cables}
  const hintId = `rack-hint-${++hints}`;

  const results = await Promise.allSettled(ids.map((id) => api.get(`/api/racks/${id}`)));
  results.forEach((r, i) => {
    if (r.status === "fulfilled") racks.set(ids[i], r.value);
    else toast(`Rack ${ids[i]}: ${errorMessage(r.reason)}`, "error");
  });
  if (!racks.size) {
    root.append(h("h1", {}, "Rack not found"), h("p", {}, h("a", { href: "#/racks" }, "Back to the racks")));
    return null;
  }
  const shown = ids.filter((id) => racks.has(id));
  const several = shown.length > 1;

  // --- page skeleton ------------------------------------------------------------------
  const live = h("div", { class: "rack-sr", "aria-live": "assertive", "aria-atomic": "true" });
  const row = h("div", { class: `rack-row${several ? " several" : ""}${canEdit ? " can-move" : ""}` });
  const panel = h("aside", { class: "rack-panel", "aria-labelledby": `${hintId}-panel` });
  const cablesArea = h("div", { class: "rack-cables-all" });
  const layout = h("div", { class: "rack-layout" }, row, panel);
  const title = h("h1", {}, several ? "Racks side by side" : racks.get(shown[0]).name);
  root.append(
    h("div", { class: "toolbar rack-toolbar" },
      h("a", { href: "#/racks", class: "rack-back" }, "← Racks"), title),
    h("p", { class: "rack-hint muted", id: hintId }, canEdit
      ? "Drag a device to move it, or focus it and press Enter, then the arrow keys, then Enter (Escape cancels). Click a device or press I for its details."
      : "Click a device, or focus it and press Enter, for its details."),
    layout, cablesArea, live);

  const announce = (text) => {
    live.textContent = "";
    setTimeout(() => { live.textContent = text; }, 30);  // a new node text is read again
  };

  // --- the side panel (device details or the optimizer) --------------------------------
  let panelState = null;  // {kind: "device"|"optimize", id, rackId, returnTo}
  // What the panel modules (rack-device.js, optimize.js) may use of the view.
  const view = { canEdit, racks, announce, openPanel, closePanel, reload: (which) => reload(which) };

  function openPanel({ kind, id, rackId, heading, body, keyboard, returnTo, wide = false, refresh = false }) {
    panelState = { kind, id, rackId, returnTo: returnTo || panelState?.returnTo };
    const h2 = h("h2", { id: `${hintId}-panel`, tabindex: -1 }, heading);
    clear(panel,
      h("div", { class: "rack-panel-head" }, h2,
        h("button", { type: "button", class: "icon", "aria-label": "Close panel", onclick: closePanel }, "×")),
      body);
    delete panel.dataset.empty;
    markSelected();
    layout.classList.toggle("wide-panel", wide);
    rescale();
    if (keyboard) h2.focus();
    // On a phone the panel is a sheet over the lower screen: bring the device above it.
    if (kind === "device" && !refresh && window.matchMedia("(max-width: 900px)").matches) {
      row.querySelector(`.elev-area [data-device-id="${id}"]`)?.scrollIntoView({ block: "start" });
    }
  }

  function closePanel() {
    const back = panelState?.returnTo;
    panelState = null;
    emptyPanel();
    markSelected();
    rescale();
    // Back to the device (or button) the panel was opened from, when it still exists.
    const target = back && document.querySelector(back);
    if (target) target.focus();
  }

  // The device shown in the panel is marked in its elevation.
  function markSelected() {
    for (const el of row.querySelectorAll('.device[aria-current="true"]')) el.removeAttribute("aria-current");
    if (panelState?.kind === "device") {
      row.querySelector(`.elev-area [data-device-id="${panelState.id}"]`)?.setAttribute("aria-current", "true");
    }
  }

  // On a wide screen the panel stays in place with a hint; on a phone it hides when empty.
  function emptyPanel() {
    panel.dataset.empty = "";
    layout.classList.remove("wide-panel");
    clear(panel, h("h2", { id: `${hintId}-panel` }, "Details"),
      h("p", { class: "muted" }, `Select a device to see its details${canEdit ? " and actions" : ""}; Optimize proposes a better layout for a rack.`));
  }
  emptyPanel();

  panel.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !e.defaultPrevented) {
      e.preventDefault();
      closePanel();
    }
  });

  // --- each rack's column -------------------------------------------------------------
  function drawColumn(id) {
    const rack = racks.get(id);
    let c = columns.get(id);
    if (!c) {
      c = { col: h("section", { class: "rack-col", dataset: { rackId: id }, "aria-label": rack.name }),
        head: h("header", { class: "rack-head" }), elev: h("div", { class: "rack-elev-wrap" }),
        cables: h("section", { class: "rack-cables", dataset: { rackId: id } }) };
      c.col.append(c.head, c.elev);
      row.append(c.col);
      cablesArea.append(c.cables);
      columns.set(id, c);
    }
    c.col.setAttribute("aria-label", rack.name);
    c.cables.setAttribute("aria-label", `Cables of ${rack.name}`);
    clear(c.head,
      several ? h("h2", {}, h("a", { href: `#/racks/${id}` }, rack.name)) : null,
      h("p", { class: "muted rack-facts" }, [rack.location, rackSummary(rack),
        rack.max_weight_kg ? `max ${fmt.kg(rack.max_weight_kg)}` : null,
        rack.max_power_w ? `max ${fmt.w(rack.max_power_w)}` : null,
        rack.ergonomic_u ? `ergonomic U${rack.ergonomic_u}` : null].filter(Boolean).join(" · ")),
      rack.notes ? h("p", { class: "rack-notes" }, rack.notes) : null,
      utilizationMeters(rack.utilization),
      // Viewers may ask the optimizer for a proposal (the API allows it); applying it,
      // like every other change, needs the editor role.
      h("div", { class: "actions rack-actions" },
        canEdit ? h("button", { type: "button", class: "primary", onclick: () => addDevice(rack) }, "Add device") : null,
        h("button", { type: "button", "data-optimize": id, onclick: (e) => optimize(rack, e) }, "Optimize"),
        canEdit ? h("button", { type: "button", "data-edit-rack": id, onclick: () => editRack(rack) }, "Edit rack") : null));
    clear(c.elev, drawElevation(rack, { interactive: true, hintId }));
    markSelected();
  }

  async function mountCablesOf(id) {
    const c = columns.get(id);
    // cables.js owns the mount point's content; the rack's name stays above it.
    const mount = h("div", { class: "rack-cables-mount" });
    clear(c.cables, several ? h("p", { class: "rack-cables-of" }, racks.get(id).name) : null, mount);
    try {
      const { mountCables } = await import("./cables.js");
      await mountCables(mount, { rack: racks.get(id), reload: () => reload(shown) });
    } catch (err) {
      showError(err);
    }
  }

  // The scale follows the rendered width: the narrowest column decides for all racks.
  function rescale() {
    const cols = shown.map((id) => ({ rack: racks.get(id), width: columns.get(id)?.elev.clientWidth || 0 }));
    const scale = fitScale(cols);
    for (const el of row.querySelectorAll(".elevation")) applyScale(el, scale);
  }
  const observer = new ResizeObserver(() => rescale());
  observer.observe(row);

  // Re-reads the given racks (default: all shown) and redraws them; focus stays on the
  // device it was on (it may have moved to another rack).
  const latest = new Map();  // rack id -> number of its latest read (older answers lose)
  let reads = 0;
  async function reload(which = shown) {
    const list = [...new Set(which)].filter((id) => racks.has(id));
    const mine = ++reads;
    list.forEach((id) => latest.set(id, mine));
    const fresh = (await Promise.all(list.map((id) => api.get(`/api/racks/${id}`))))
      .filter((rack) => latest.get(rack.id) === mine);
    if (!fresh.length) return;
    const focused = document.activeElement?.closest?.("[data-device-id]")?.dataset.deviceId;
    fresh.forEach((rack) => racks.set(rack.id, rack));
    list.splice(0, list.length, ...fresh.map((rack) => rack.id));
    for (const id of list) drawColumn(id);
    rescale();
    if (!several) title.textContent = racks.get(shown[0]).name;
    if (focused) document.querySelector(`.elev-area [data-device-id="${focused}"]`)?.focus();
    refreshPanel();
    await Promise.all(list.map(mountCablesOf));
  }

  // The device panel follows the data (a move changes its position; a deletion closes it).
  function refreshPanel() {
    if (panelState?.kind !== "device") return;
    const holder = shown.map((id) => racks.get(id)).find((r) => r.devices.some((d) => d.id === panelState.id));
    if (!holder) return closePanel();
    deviceDetails(view, holder.devices.find((d) => d.id === panelState.id), holder, { refresh: true });
  }

  // --- moves ---------------------------------------------------------------------------
  async function move(device, from, to, pos) {
    const body = { position_u: pos };
    if (to.id !== from.id) body.rack_id = to.id;
    try {
      await api.patch(`/api/devices/${device.id}`, body);
    } catch (err) {
      showError(err);  // the toast is an alert: screen readers hear the API's reason
      return false;
    }
    const where = `${span(pos, device.u_height)}${to.id !== from.id ? ` in ${to.name}` : ""}`;
    // Redrawn first, then announced: the message never runs ahead of the picture.
    await attempt(() => reload([from.id, to.id]));
    toast(`${device.name} moved to ${where}.`, "ok");  // a status toast, read out too
    return true;
  }

  const detach = attachMoves(row, {
    rack: (id) => racks.get(id),
    canMove: (d) => (!canEdit ? false : d.locked ? `${d.name} is locked: unlock it to move it.` : true),
    refuse: (reason) => toast(reason, "error"),
    move,
    details: (d, rack, { keyboard }) => attempt(() => deviceDetails(view, d, rack, { keyboard })),
    slot: canEdit ? (rack, unit) => addDevice(rack, unit) : null,
    announce,
  });

  async function addDevice(rack, unit = null) {
    const added = await addDeviceDialog(rack, unit);
    if (added) await attempt(() => reload([rack.id]));
  }

  async function editRack(rack) {
    const saved = await rackDialog(rack);
    if (!saved) return;
    toast(`Rack ${saved.name} saved.`, "ok");
    await attempt(() => reload([rack.id]));
  }

  async function optimize(rack, ev) {
    const { openOptimizer } = await import("./optimize.js");
    openOptimizer(view, rack, { keyboard: ev.detail === 0, returnTo: `[data-optimize="${rack.id}"]` });
  }

  for (const id of shown) drawColumn(id);
  rescale();
  await Promise.all(shown.map(mountCablesOf));

  return () => {
    detach();
    observer.disconnect();
  };
}
