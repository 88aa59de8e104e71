// Shared bits of the cables section: cable type names, lengths, the Content-Disposition
// file name, and paged reads that stay at one call for a normal rack.
import { api } from "../api.js";

// The API's enum (ConnectionIn.cable_type), in its order, with readable names.
export const CABLE_TYPES = [
  ["cat6", "Cat6"], ["cat6a", "Cat6a"], ["dac", "DAC"], ["fiber_om4", "Fiber OM4"],
  ["fiber_os2", "Fiber OS2"], ["power", "Power"], ["usb", "USB"], ["other", "Other"],
];
const NAMES = Object.fromEntries(CABLE_TYPES);
export const cableName = (type) => NAMES[type] || String(type ?? "");

// 1.0 → "1 m", 0.15 → "0.15 m"; lengths in mm as metres with two decimals.
export const metres = (m) => (m == null ? "–" : `${Number(m).toLocaleString("en", { maximumFractionDigits: 2 })} m`);
export const mmAsMetres = (mm) => (mm == null ? "–" : `${(Number(mm) / 1000).toFixed(2)} m`);

// Every item of a list with one request up to 500 items (the API's page limit), more
// requests only beyond that.
export async function allItems(path) {
  const sep = path.includes("?") ? "&" : "?";
  const items = [];
  for (let offset = 0; ; offset += 500) {
    const page = await api.get(`${path}${sep}limit=500&offset=${offset}`);
    items.push(...page.items);
    if (items.length >= page.total || page.items.length === 0) return items;
  }
}

// filename="x.csv" or filename*=UTF-8''x.csv from a Content-Disposition header.
export function dispositionName(header, fallback) {
  if (!header) return fallback;
  const star = header.match(/filename\*\s*=\s*(?:UTF-8'')?'?([^;]+)/i);
  if (star) {
    try { return decodeURIComponent(star[1].trim().replace(/^"|"$/g, "")); } catch { /* below */ }
  }
  const plain = header.match(/filename\s*=\s*"?([^";]+)"?/i);
  return plain ? plain[1].trim() : fallback;
}
