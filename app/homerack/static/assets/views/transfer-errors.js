// The API's per-field errors of a refused import ("racks[0].u_height") as readable rows:
// which record (with its name from the document), which field, and the API's reason.
import { h } from "../ui.js";

const SECTIONS = {
  brands: ["Brand", (x) => x?.name],
  device_types: ["Device type", (x) => (x ? [x.brand, x.model].filter(Boolean).join(" ") : "")],
  racks: ["Rack", (x) => x?.name],
  devices: ["Device", (x) => x?.name],
  connections: ["Cable", (x) => (x ? `${x.device_a ?? "?"} ↔ ${x.device_b ?? "?"}` : "")],
};

// "racks[0].name" → {record: "Rack 1 “Main”", field: "name"}; anything else as it came.
export function describeField(path, doc) {
  const m = /^(\w+)\[(\d+)\](?:\.(.+))?$/.exec(path || "");
  if (m && SECTIONS[m[1]]) {
    const [kind, nameOf] = SECTIONS[m[1]];
    const index = Number(m[2]);
    const item = Array.isArray(doc?.[m[1]]) ? doc[m[1]][index] : undefined;
    let name = "";
    try { name = nameOf(item) || ""; } catch { name = ""; }
    return { record: `${kind} ${index + 1}${name ? ` “${name}”` : ""}`, field: (m[3] || "(the whole record)").replace(/_/g, " ") };
  }
  if (!path) return { record: "The document", field: "" };
  return { record: "The document", field: path.replace(/_/g, " ") };
}

// A table of the errors, or the API's message alone when it sent no list.
export function errorTable(err, doc) {
  const list = Array.isArray(err.body?.errors) ? err.body.errors : [];
  if (!list.length) return h("p", {}, err.description || err.title || String(err.message));
  return h("div", { class: "table-wrap" }, h("table", { class: "import-errors flow" },
    h("caption", {}, `${list.length} ${list.length === 1 ? "problem" : "problems"} in the file`),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Record"), h("th", { scope: "col" }, "Field"), h("th", { scope: "col" }, "Problem"))),
    h("tbody", {}, list.map((p) => {
      const where = describeField(p.field, doc);
      return h("tr", {},
        h("td", { class: "lead", "data-label": "Record" }, where.record),
        h("td", { class: "lead br", "data-label": "Field" }, h("code", {}, where.field)),
        h("td", { class: "block", "data-label": "Problem" }, String(p.reason ?? "")));
    }))));
}
