// The device panel of the rack view: details (type, weight, power, airflow, access,
// notes, serial, management URL) and, for editors, edit, lock/unlock, move to another
// rack or unit, remove from the rack, delete.
import { api } from "../api.js";
import { attempt, confirmDialog, fmt, formDialog, h, toast } from "../ui.js";
import { span } from "./elevation.js";

const ACCESS = [["daily", "Daily"], ["weekly", "Weekly"], ["monthly", "Monthly"], ["rarely", "Rarely"]];
const extra = new Map();  // device id -> serial_number, management_url (not in the rack read)

// Shows the device in the view's side panel. `refresh`: redraw after a reload, without
// reading the device again or moving the focus.
export async function deviceDetails(view, device, rack, { keyboard = false, refresh = false } = {}) {
  if (!refresh || !extra.has(device.id)) {
    const full = await api.get(`/api/devices/${device.id}`);
    extra.set(device.id, { serial_number: full.serial_number, management_url: full.management_url });
  }
  const d = { ...device, ...extra.get(device.id) };
  const facts = [
    ["Position", `${span(d.position_u, d.u_height)} in ${rack.name}`],
    ["Height", `${d.u_height}U`],
    ["Type", `${d.brand} ${d.model}`],
    ["Category", fmt.label(d.category)],
    ["Weight", fmt.kg(d.weight_kg)],
    ["Power", fmt.w(d.power_w)],
    ["Airflow", fmt.label(d.airflow)],
    ["Depth", d.depth_mm ? `${d.depth_mm} mm` : "–"],
    ["Access", fmt.label(d.access_frequency)],
    ["Locked", d.locked ? "yes: the optimizer and moves leave it in place" : "no"],
    ["Serial number", d.serial_number || "–"],
    ["Management", d.management_url
      ? h("a", { href: d.management_url, target: "_blank", rel: "noopener noreferrer" }, d.management_url) : "–"],
    ["Notes", d.notes || "–"],
  ];
  const act = (label, fn, cls = null) => h("button", { type: "button", class: cls, onclick: () => attempt(fn) }, label);
  const body = h("div", { class: "device-panel" },
    h("div", { class: `device-swatch cat-${d.category}` },
      d.logo_url ? h("img", { class: "logo", src: d.logo_url, alt: `${d.brand} logo` }) : null,
      h("span", {}, `${d.brand} ${d.model}`)),
    h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    view.canEdit ? h("div", { class: "actions device-actions" },
      act("Edit…", () => editDevice(view, d, rack)),
      act(d.locked ? "Unlock" : "Lock", () => setLocked(view, d, rack, !d.locked)),
      d.locked ? h("button", { type: "button", disabled: true, title: "Unlock it to move it" }, "Move…")
        : act("Move…", () => moveDialog(view, d, rack)),
      act("Remove from rack", () => unplace(view, d, rack)),
      act("Delete", () => deleteDevice(view, d, rack), "danger")) : null);
  view.openPanel({
    kind: "device", id: d.id, rackId: rack.id, heading: d.name, body,
    keyboard: keyboard && !refresh, refresh, returnTo: refresh ? null : `.elev-area [data-device-id="${d.id}"]`,
  });
}

async function editDevice(view, d, rack) {
  const saved = await formDialog({
    title: `Edit ${d.name}`,
    fields: [
      { name: "name", label: "Name", value: d.name, required: true, maxlength: 100 },
      { name: "access_frequency", label: "Access frequency", type: "select", value: d.access_frequency, options: ACCESS },
      { name: "serial_number", label: "Serial number", value: d.serial_number, maxlength: 100 },
      { name: "management_url", label: "Management URL", type: "url", value: d.management_url, maxlength: 500,
        placeholder: "https://…" },
      { name: "notes", label: "Notes", type: "textarea", value: d.notes, maxlength: 5000 },
    ],
    submit: (v) => api.patch(`/api/devices/${d.id}`, v),
  });
  if (!saved) return;
  extra.set(d.id, { serial_number: saved.serial_number, management_url: saved.management_url });
  toast(`${saved.name} saved.`, "ok");
  await view.reload([rack.id]);
}

async function setLocked(view, d, rack, locked) {
  await api.patch(`/api/devices/${d.id}`, { locked });
  toast(`${d.name} ${locked ? "locked" : "unlocked"}.`, "ok");
  await view.reload([rack.id]);
}

// Move… : a rack and a unit, for moves between racks without a pointer.
async function moveDialog(view, d, rack) {
  const all = await api.all("/api/racks");
  const moved = await formDialog({
    title: `Move ${d.name}`,
    intro: `${d.u_height}U, now at ${span(d.position_u, d.u_height)} in ${rack.name}. The unit is its lowest one.`,
    submitLabel: "Move",
    fields: [
      { name: "rack_id", label: "Rack", type: "select", value: rack.id,
        options: all.map((r) => [r.id, `${r.name} (${r.u_height}U, ${r.width_in} in)`]) },
      { name: "position_u", label: "Unit", type: "number", value: d.position_u, min: 1, max: 60, required: true },
    ],
    submit: (v) => api.patch(`/api/devices/${d.id}`, { rack_id: Number(v.rack_id), position_u: v.position_u }),
  });
  if (!moved) return;
  const to = all.find((r) => r.id === moved.rack_id);
  toast(`${d.name} moved to ${span(moved.position_u, d.u_height)}${to && to.id !== rack.id ? ` in ${to.name}` : ""}.`, "ok");
  await view.reload([rack.id, moved.rack_id]);
}

async function unplace(view, d, rack) {
  // The API takes rack_id and position_u together: both null make the device unplaced.
  await api.patch(`/api/devices/${d.id}`, { rack_id: null, position_u: null });
  toast(`${d.name} removed from ${rack.name}; it is listed with the unplaced devices.`, "ok");
  await view.reload([rack.id]);
}

async function deleteDevice(view, d, rack) {
  if (!await confirmDialog(`Delete ${d.name} and its cables? This cannot be undone.`)) return;
  await api.delete(`/api/devices/${d.id}`);
  extra.delete(d.id);
  toast(`${d.name} deleted.`, "ok");
  await view.reload([rack.id]);
}
