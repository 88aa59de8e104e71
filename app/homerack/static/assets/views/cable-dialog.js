// The add/edit cable dialog: two device pickers grouped by rack, the cable type, count,
// label and notes. Devices outside the rack are only fetched when the user asks for them
// (one list of devices and one of racks, then kept for the section's life).
import { errorMessage } from "../api.js";
import { FormError, h, modalForm } from "../ui.js";
import { CABLE_TYPES } from "./cable-common.js";

let serial = 0;

// cableDialog({title, rack, connection, loadOutside, submit}) resolves to the saved result
// or null when cancelled. loadOutside() resolves to {devices, racks} of the whole inventory.
// submit(values) may throw an ApiError: its message is shown and the dialog stays open.
export function cableDialog({ title, rack, connection = null, loadOutside, submit }) {
  const id = (name) => `cable-${name}-${++serial}`;
  const inRack = new Set((rack.devices || []).map((d) => d.id));
  let outside = null;  // {devices, racks} once loaded
  let showOutside = false;

  const pickA = h("select", { id: id("a"), name: "device_a_id", required: true });
  const pickB = h("select", { id: id("b"), name: "device_b_id", required: true });
  const widen = h("input", { id: id("outside"), type: "checkbox" });
  const type = h("select", { id: id("type"), name: "cable_type", required: true },
    CABLE_TYPES.map(([value, label]) => h("option", { value, selected: value === (connection?.cable_type || "cat6") }, label)));
  const count = h("input", { id: id("count"), name: "count", type: "number", min: 1, max: 1000, step: 1,
    required: true, value: connection?.count ?? 1 });
  const label = h("input", { id: id("label"), name: "label", maxlength: 200, autocomplete: "off",
    value: connection?.label ?? "", placeholder: "e.g. uplink" });
  const notes = h("textarea", { id: id("notes"), name: "notes", rows: 2, maxlength: 5000 }, connection?.notes ?? "");
  // Loading the other racks' devices can fail on its own, before any submit.
  const error = h("p", { class: "form-error", role: "alert", hidden: true });

  // Options: this rack's devices top to bottom, then (when asked) every other rack's and
  // the unplaced ones. An edited cable's far end is always offered, by the name we know.
  function fill(select, selected) {
    const groups = [];
    const rackDevices = [...(rack.devices || [])].sort((x, y) => (y.position_u ?? -1) - (x.position_u ?? -1));
    groups.push(h("optgroup", { label: `This rack (${rack.name})` }, rackDevices.map((d) =>
      h("option", { value: d.id }, d.position_u ? `${d.name} (U${d.position_u})` : `${d.name} (not placed)`))));
    if (outside && showOutside) {
      const rackNames = new Map(outside.racks.map((r) => [r.id, r.name]));
      const byRack = new Map();
      for (const d of outside.devices) {
        if (inRack.has(d.id)) continue;
        const key = d.rack_id ? rackNames.get(d.rack_id) || `Rack ${d.rack_id}` : "Not in a rack";
        if (!byRack.has(key)) byRack.set(key, []);
        byRack.get(key).push(d);
      }
      for (const [name, list] of [...byRack].sort(([a], [b]) => a.localeCompare(b))) {
        list.sort((x, y) => x.name.localeCompare(y.name));
        groups.push(h("optgroup", { label: name }, list.map((d) => h("option", { value: d.id }, d.name))));
      }
    } else if (connection) {
      const far = [[connection.device_a_id, connection.device_a], [connection.device_b_id, connection.device_b]]
        .filter(([devId]) => !inRack.has(devId));
      if (far.length) groups.push(h("optgroup", { label: "Outside this rack" }, far.map(([devId, name]) => h("option", { value: devId }, name))));
    }
    select.replaceChildren(h("option", { value: "" }, "Choose a device…"), ...groups);
    select.value = selected == null ? "" : String(selected);
    if (select.value !== String(selected ?? "")) select.value = "";
  }
  fill(pickA, connection?.device_a_id);
  fill(pickB, connection?.device_b_id);

  // Ticked: the other racks' devices join the lists (loaded once); unticked: gone again.
  widen.addEventListener("change", async () => {
    widen.disabled = true;
    error.hidden = true;
    try {
      if (widen.checked && !outside) outside = await loadOutside();
      showOutside = widen.checked;
      const [a, b] = [pickA.value, pickB.value];
      fill(pickA, a);
      fill(pickB, b);
    } catch (err) {
      widen.checked = false;
      error.textContent = errorMessage(err);
      error.hidden = false;
    } finally {
      widen.disabled = false;
    }
  });

  const field = (input, text, help) => h("div", { class: "field" },
    h("label", { for: input.id }, text), input, help ? h("small", {}, help) : null);
  const done = modalForm({
    title, formClass: "cable-form", submitLabel: connection ? "Save" : "Add cable",
    content: [
      h("div", { class: "cable-ends" }, field(pickA, "Device A"), h("span", { class: "cable-arrow", "aria-hidden": "true" }, "↔"), field(pickB, "Device B")),
      h("div", { class: "field check" }, h("label", { for: widen.id }, "Offer devices outside this rack (cables leaving the rack)"), widen),
      h("div", { class: "cable-row" }, field(type, "Cable type"), field(count, "Count")),
      field(label, "Label"),
      field(notes, "Notes"),
      error,
    ],
    read: () => {
      if (!pickA.value || !pickB.value) throw new FormError("Choose both devices.");
      return {
        device_a_id: Number(pickA.value), device_b_id: Number(pickB.value),
        cable_type: type.value, count: count.value === "" ? null : Number(count.value),
        label: label.value, notes: notes.value,
      };
    },
    submit,
  });
  pickA.focus();
  return done;
}
