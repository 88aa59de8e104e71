// The front elevation of a rack, true to scale: 1U = 44.45 mm high and the rack's inner
// width (19 in = 482.6 mm) drawn at the same px-per-mm scale. U1 is at the bottom.
// Plain DOM (not SVG) so the device blocks are focusable, labelled and hold an <img>.
import { h } from "../ui.js";

export const UNIT_MM = 44.45;
export const WIDTH_MM = { 10: 254, 19: 482.6, 23: 584.2 };
export const RAIL_PX = 26;          // each side rail, with the unit numbers
const MAX_SCALE = 0.85;             // px per mm: 1U ≈ 38 px, 19 in ≈ 410 px at most
const MIN_SCALE = 0.2;

export const widthMm = (rack) => WIDTH_MM[rack.width_in] ?? WIDTH_MM[19];

// "U23" or "U12–U13".
export function span(pos, u) {
  return u > 1 ? `U${pos}–U${pos + u - 1}` : `U${pos}`;
}

export function deviceLabel(d, pos = d.position_u) {
  return [d.name, `${d.brand} ${d.model}`, span(pos, d.u_height), `${d.u_height}U`,
    d.locked ? "locked" : null].filter(Boolean).join(", ");
}

// The largest scale (px per mm) at which every rack fits its column (the same scale for
// all racks shown together, so a 10 in rack looks narrower than a 19 in one).
export function fitScale(columns, max = MAX_SCALE, rail = RAIL_PX) {
  let scale = max;
  for (const { width, rack } of columns) {
    if (width > 0) scale = Math.min(scale, (width - 2 * rail) / widthMm(rack));
  }
  return Math.max(MIN_SCALE, scale);
}

// Sets the unit height and area width of a drawn elevation for a scale (px per mm); the
// text density follows the unit height so 1U blocks never cut their text mid-line.
export function applyScale(el, scale, rail = RAIL_PX) {
  const unit = UNIT_MM * scale;
  el.style.setProperty("--u", `${unit.toFixed(2)}px`);
  el.style.setProperty("--area-w", `${(widthMm({ width_in: Number(el.dataset.widthIn) }) * scale).toFixed(1)}px`);
  el.style.setProperty("--rail", `${rail}px`);
  el.dataset.density = unit < 22 ? "tiny" : unit < 34 ? "tight" : "normal";
}

// devices at positions: {device, pos} for each device (positions may override, for a
// proposal), sorted top first.
function placed(rack, positions) {
  return rack.devices
    .map((d) => ({ d, pos: positions?.get(d.id) ?? d.position_u }))
    .filter(({ pos }) => pos != null)
    .sort((a, b) => b.pos - a.pos);
}

// Which units each device covers: unit -> device id.
export function occupancy(rack, positions = null, skipId = null) {
  const taken = new Map();
  for (const { d, pos } of placed(rack, positions)) {
    if (d.id === skipId) continue;
    for (let u = pos; u < pos + d.u_height; u++) taken.set(u, d);
  }
  return taken;
}

// Devices a block of `height` units at `pos` would overlap (excluding device `skipId`).
export function clashes(rack, pos, height, skipId) {
  const taken = occupancy(rack, null, skipId);
  const hit = new Set();
  for (let u = pos; u < pos + height; u++) if (taken.has(u)) hit.add(taken.get(u));
  return [...hit];
}

// The lowest unit where `height` free units start, or null.
export function firstFree(rack, height) {
  const taken = occupancy(rack);
  for (let pos = 1; pos + height - 1 <= rack.u_height; pos++) {
    let ok = true;
    for (let u = pos; u < pos + height && ok; u++) ok = !taken.has(u);
    if (ok) return pos;
  }
  return null;
}

// Every unit where a device of `height` fits (bottom first).
export function freePositions(rack, height, skipId = null) {
  const taken = occupancy(rack, null, skipId);
  const out = [];
  for (let pos = 1; pos + height - 1 <= rack.u_height; pos++) {
    let ok = true;
    for (let u = pos; u < pos + height && ok; u++) ok = !taken.has(u);
    if (ok) out.push(pos);
  }
  return out;
}

const row = (H, pos, u) => `${H - (pos + u - 1) + 1} / span ${u}`;

function lockIcon() {
  return h("svg", { class: "lock", viewBox: "0 0 16 16", width: 12, height: 12, "aria-hidden": "true", focusable: "false" },
    h("path", { svg: true, d: "M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7zm2 0h4V5a2 2 0 0 0-4 0z", fill: "currentColor" }));
}

// One device block. Interactive blocks are focusable with a full aria-label.
function deviceBlock(d, pos, H, { interactive, compact, moved, hintId, from }) {
  const attrs = {
    class: `device cat-${d.category}${d.locked ? " locked" : ""}${moved ? " moved" : ""}`,
    dataset: { deviceId: d.id, pos, height: d.u_height },
    style: { "grid-row": row(H, pos, d.u_height) },
    title: `${d.name} · ${d.brand} ${d.model} · ${span(pos, d.u_height)}${from ? ` (was ${from})` : ""}`,
  };
  if (interactive) {
    Object.assign(attrs, { tabindex: 0, role: "button", "aria-label": deviceLabel(d, pos),
      "aria-describedby": hintId || null, "aria-roledescription": "rack device" });
  } else {
    attrs["aria-label"] = `${d.name}, ${span(pos, d.u_height)}${from ? `, moved from ${from}` : ""}`;
    attrs.role = "img";
  }
  return h("div", attrs,
    !compact && d.logo_url ? h("img", { class: "logo", src: d.logo_url, alt: "", draggable: "false" }) : null,
    h("span", { class: "device-text" },
      h("span", { class: "device-name" }, d.name),
      compact ? null : h("span", { class: "device-model" }, `${d.brand} ${d.model}`)),
    compact && from ? h("span", { class: "device-from" }, `← ${from}`) : null,
    d.locked ? lockIcon() : null);
}

// Draws a rack. Options: scale (px per mm), positions (Map id -> unit, to draw a
// proposal), compact (mini elevation: names only), interactive (focusable blocks, drop
// target), hintId (id of the keyboard hint), previous (Map id -> unit: mark moves).
export function drawElevation(rack, opts = {}) {
  const { positions = null, compact = false, interactive = false, previous = null } = opts;
  const H = rack.u_height;
  const units = Array.from({ length: H }, (_, i) => H - i);  // top first
  const taken = occupancy(rack, positions);
  const area = h("div", { class: "elev-area", dataset: { rackId: rack.id, units: H },
    "data-interactive": interactive || null },
  units.filter((u) => !taken.has(u)).map((u) => h("div", {
    class: "slot", dataset: { u }, style: { "grid-row": row(H, u, 1) }, "aria-hidden": "true" })),
  placed(rack, positions).map(({ d, pos }) => {
    const was = previous?.get(d.id);
    const moved = previous && was !== pos;
    return deviceBlock(d, pos, H, { interactive, compact, moved, hintId: opts.hintId,
      from: moved ? (was == null ? "unplaced" : span(was, d.u_height)) : null });
  }));
  const rail = (side) => h("div", { class: `elev-rail ${side}`, "aria-hidden": "true" },
    units.map((u) => h("span", { style: { "grid-row": row(H, u, 1) } }, u)));
  const el = h("div", {
    class: `elevation${compact ? " compact" : ""}`, dataset: { rackId: rack.id, widthIn: rack.width_in },
    role: "group",
    "aria-label": `Front elevation of ${rack.name}: ${H}U, ${rack.width_in} in${positions ? " (proposal)" : ""}`,
  }, h("div", { class: "elev-frame" }, rail("left"), area, rail("right")));
  if (opts.scale) applyScale(el, opts.scale);
  return el;
}
