// Placeholder until the cables view lands: the rack view mounts it below the elevation.
import { h } from "../ui.js";

// mountCables(el, {rack, reload}): rack = GET /api/racks/{id}; reload() re-reads the rack
// and re-renders the rack view.
export async function mountCables(el) {
  el.append(h("h2", {}, "Cables"));
}
