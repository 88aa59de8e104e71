// The rack form (create and edit), shared by the racks list and the rack view, and the
// small facts shared by both: utilization meters and the rack's dimensions.
import { api } from "../api.js";
import { formDialog, h, meter } from "../ui.js";

export const WIDTHS = [[19, "19 in"], [10, "10 in"], [23, "23 in"]];

// Opens the create (rack null) or edit dialog; resolves to the saved rack or null.
export function rackDialog(rack = null) {
  const r = rack || {};
  const fields = [
    { name: "name", label: "Name", value: r.name, required: true, maxlength: 100 },
    { name: "location", label: "Location", value: r.location, maxlength: 200 },
    { name: "u_height", label: "Height (U)", type: "number", value: r.u_height ?? 42, min: 1, max: 60, required: true },
    { name: "width_in", label: "Width", type: "select", value: r.width_in ?? 19, options: WIDTHS },
    { name: "depth_mm", label: "Depth (mm)", type: "number", value: r.depth_mm, min: 1, max: 2000 },
    { name: "max_weight_kg", label: "Max weight (kg)", type: "number", value: r.max_weight_kg, min: 0, step: "any" },
    { name: "max_power_w", label: "Max power (W)", type: "number", value: r.max_power_w, min: 0, step: "any" },
    { name: "ergonomic_u", label: "Ergonomic unit", type: "number", value: r.ergonomic_u, min: 1, max: 60,
      help: "The comfiest unit to reach: the optimizer puts often-used devices near it." },
    { name: "notes", label: "Notes", type: "textarea", value: r.notes, maxlength: 5000 },
  ];
  return formDialog({
    title: rack ? `Edit rack ${rack.name}` : "New rack",
    submitLabel: rack ? "Save" : "Create rack",
    fields,
    submit: (v) => {
      // The API is strict about types: the select gives a string, the width is a number.
      const body = { ...v, width_in: Number(v.width_in) };
      return rack ? api.patch(`/api/racks/${rack.id}`, body) : api.post("/api/racks", body);
    },
  });
}

// The three utilization meters (units, weight, power against the rack's budgets).
export function utilizationMeters(u) {
  if (!u) return h("p", { class: "muted" }, "No utilization figures.");
  // "137.7 / 400 kg": short enough for a card on a phone.
  const num = (v) => String(Math.round(Number(v) * 10) / 10);
  const of = (value, max, unit) => (max ? `${num(value)} / ${num(max)} ${unit}` : `${num(value)} ${unit}, no limit`);
  return h("div", { class: "rack-meters" },
    meter("Units", u.used_pct, of(u.used_u, u.used_u + u.free_u, "U")),
    meter("Weight", u.weight_pct, of(u.weight_kg, u.max_weight_kg, "kg")),
    meter("Power", u.power_pct, of(Math.round(u.power_w), u.max_power_w, "W")));
}

// "42U · 19 in · 800 mm deep" and the location.
export function rackSummary(r) {
  return [`${r.u_height}U`, `${r.width_in} in`, r.depth_mm ? `${r.depth_mm} mm deep` : null]
    .filter(Boolean).join(" · ");
}
