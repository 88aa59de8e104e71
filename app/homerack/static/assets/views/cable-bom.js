// The rack's cable bill of materials (GET /api/racks/{id}/bom): one line per cable run,
// totals per cable type and stock length, the cables the BOM leaves out, and the CSV.
import { request } from "../api.js";
import { attempt, clear, download, h, toast } from "../ui.js";
import { cableName, dispositionName, metres, mmAsMetres } from "./cable-common.js";

// The API's totals when it sends them, else the same figures from the lines: per cable
// type and stock length (custom lengths: the sum of the computed runs).
export function bomTotals(bom) {
  if (Array.isArray(bom.totals)) return bom.totals;
  const totals = new Map();
  for (const line of bom.lines || []) {
    const stock = line.stock_length_m ?? null;
    const key = `${line.cable_type}|${stock}`;
    const t = totals.get(key) || { cable_type: line.cable_type, stock_length_m: stock, count: 0, total_length_m: 0 };
    t.count += line.count;
    t.total_length_m += stock == null ? (line.length_mm / 1000) * line.count : stock * line.count;
    totals.set(key, t);
  }
  return [...totals.values()].sort((a, b) => a.cable_type.localeCompare(b.cable_type)
    || (a.stock_length_m ?? Infinity) - (b.stock_length_m ?? Infinity));
}

function linesTable(bom) {
  const lines = bom.lines || [];
  if (!lines.length) return h("p", { class: "muted" }, "No cable runs between placed devices of this rack yet.");
  return h("div", { class: "table-wrap" }, h("table", { class: "bom-lines flow" },
    h("caption", {}, "Cable runs"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Devices"), h("th", { scope: "col" }, "Label"), h("th", { scope: "col" }, "Type"),
      h("th", { scope: "col", class: "num" }, "Count"), h("th", { scope: "col", class: "num" }, "Computed length"),
      h("th", { scope: "col", class: "num" }, "Stock length"))),
    h("tbody", {}, lines.map((l) => h("tr", { dataset: { connectionId: l.connection_id } },
      h("td", { class: "lead br", "data-label": "Devices" }, `${l.a_name} ↔ ${l.b_name}`),
      h("td", { "data-label": "Label" }, l.label || ""),
      h("td", { "data-label": "Type" }, cableName(l.cable_type)),
      h("td", { class: "num", "data-label": "Count" }, l.count),
      h("td", { class: "num", "data-label": "Computed length" }, mmAsMetres(l.length_mm)),
      h("td", { class: "num", "data-label": "Stock length" },
        l.stock_length_m == null ? h("span", { class: "bom-custom", title: l.note || "" }, "custom length") : metres(l.stock_length_m),
        l.note ? h("small", { class: "bom-note" }, l.note) : null))))));
}

function totalsTable(totals) {
  if (!totals.length) return null;
  const count = totals.reduce((s, t) => s + t.count, 0);
  const length = totals.reduce((s, t) => s + t.total_length_m, 0);
  // Per-type subtotals only where a type comes in more than one stock length.
  const perType = new Map();
  for (const t of totals) perType.set(t.cable_type, (perType.get(t.cable_type) || []).concat(t));
  const rows = [];
  for (const [type, list] of perType) {
    for (const t of list) {
      rows.push(h("tr", {},
        h("td", { "data-label": "Type" }, cableName(type)),
        h("td", { class: "num", "data-label": "Stock length" }, t.stock_length_m == null ? "custom" : metres(t.stock_length_m)),
        h("td", { class: "num", "data-label": "Cables" }, t.count),
        h("td", { class: "num", "data-label": "Total length" }, metres(t.total_length_m))));
    }
    if (list.length > 1) {
      rows.push(h("tr", { class: "subtotal" },
        h("td", { "data-label": "Type" }, `All ${cableName(type)}`),
        h("td", { class: "num", "data-label": "Stock length" }, ""),
        h("td", { class: "num", "data-label": "Cables" }, list.reduce((s, t) => s + t.count, 0)),
        h("td", { class: "num", "data-label": "Total length" }, metres(list.reduce((s, t) => s + t.total_length_m, 0)))));
    }
  }
  return h("div", { class: "table-wrap" }, h("table", { class: "bom-totals" },
    h("caption", {}, "Totals to buy"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Type"), h("th", { scope: "col", class: "num" }, "Stock length"),
      h("th", { scope: "col", class: "num" }, "Cables"), h("th", { scope: "col", class: "num" }, "Total length"))),
    h("tbody", {}, rows),
    h("tfoot", {}, h("tr", {},
      h("td", { "data-label": "Type" }, "All cables"), h("td", { class: "num", "data-label": "Stock length" }, ""),
      h("td", { class: "num", "data-label": "Cables" }, count),
      h("td", { class: "num", "data-label": "Total length" }, metres(length))))));
}

function excludedList(bom) {
  const excluded = bom.excluded || [];
  if (!excluded.length) return null;
  return h("div", { class: "bom-excluded" },
    h("h4", {}, "Not in the BOM"),
    h("ul", {}, excluded.map((x) => h("li", {},
      `${x.a_name} ↔ ${x.b_name}, ${x.count} × ${cableName(x.cable_type)}${x.label ? ` “${x.label}”` : ""}: `,
      h("span", { class: "muted" }, x.reason)))));
}

// The CSV as the API writes it (formula-safe), saved under the API's file name.
async function downloadCsv(rack, button) {
  button.disabled = true;
  try {
    await attempt(async () => {
      const resp = await request("GET", `/api/racks/${rack.id}/bom.csv`, { raw: true });
      const fallback = `${rack.name.replace(/[^\w.-]+/g, "-")}-bom.csv`;
      download(dispositionName(resp.headers.get("Content-Disposition"), fallback), await resp.blob());
      toast("The cable BOM CSV is downloading.", "ok");
    });
  } finally {
    button.disabled = false;
  }
}

// Renders the BOM into el (replacing what was there).
export function renderBom(el, rack, bom) {
  const csv = h("button", { type: "button", class: "bom-csv", "aria-label": `Download CSV of the cable BOM of ${rack.name}` }, "Download CSV");
  csv.addEventListener("click", () => downloadCsv(rack, csv));
  clear(el,
    h("div", { class: "toolbar bom-head" }, h("h3", { id: `bom-title-${rack.id}` }, "Cable BOM"), h("span", { class: "spacer" }), csv),
    totalsTable(bomTotals(bom)),
    linesTable(bom),
    excludedList(bom));
}
