// The device types tab: search (q), category and brand filters, pages of 50 with "Show
// more" (the catalog holds thousands of models), and the add / edit / delete forms.
import { api } from "../api.js";
import { confirmDialog, formDialog, h, showError, toast } from "../ui.js";
import { brandLogo } from "./catalog-brands.js";

const PAGE = 50;
export const CATEGORIES = ["router", "firewall", "switch", "patch_panel", "server", "storage", "ups",
  "pdu", "shelf", "kvm", "cable_management", "blank", "other"];
const AIRFLOWS = [["front_to_back", "Front to back"], ["back_to_front", "Back to front"], ["side", "Side"], ["passive", "Passive"]];
const label = (s) => String(s ?? "").replace(/_/g, " ");
const airflowName = Object.fromEntries(AIRFLOWS);

// mountTypes(panel, {state, canWrite}) returns a cleanup function (pending search timer).
export function mountTypes(panel, { state, canWrite }) {
  const search = h("input", { type: "search", id: "types-q", placeholder: "Model or brand", autocomplete: "off" });
  const category = h("select", { id: "types-category" },
    h("option", { value: "" }, "All categories"), CATEGORIES.map((c) => h("option", { value: c }, label(c))));
  const brand = h("select", { id: "types-brand" });
  const status = h("p", { class: "muted types-status", role: "status" });
  const tbody = h("tbody");
  const table = h("div", { class: "table-wrap" }, h("table", { class: "types-table flow", "aria-label": "Device types" },
    h("thead", {}, h("tr", {},
      ["Brand", "Model", "Category"].map((t) => h("th", { scope: "col" }, t)),
      ["Height", "Width", "Depth", "Weight", "Power"].map((t) => h("th", { scope: "col", class: "num" }, t)),
      h("th", { scope: "col" }, "Airflow"), h("th", { scope: "col", class: "num" }, "Ports"),
      canWrite ? h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")) : null)),
    tbody));
  const more = h("button", { type: "button", class: "more", hidden: true, onclick: () => load(true) }, "Show more");
  const addButton = canWrite ? h("button", { type: "button", class: "primary", onclick: () => add() }, "Add device type") : null;

  panel.append(
    h("div", { class: "toolbar filters" },
      h("div", { class: "field" }, h("label", { for: search.id }, "Search device types"), search),
      h("div", { class: "field" }, h("label", { for: category.id }, "Category"), category),
      h("div", { class: "field" }, h("label", { for: brand.id }, "Brand"), brand),
      h("span", { class: "spacer" }), addButton),
    status, table, h("div", { class: "more-row" }, more));

  function brandOptions(brands) {
    const chosen = brand.value;
    brand.replaceChildren(h("option", { value: "" }, "All brands"), ...brands.map((b) => h("option", { value: b.id }, b.name)));
    brand.value = brands.some((b) => String(b.id) === chosen) ? chosen : "";
  }
  brandOptions(state.brands);

  // Pages arrive in order; a newer search drops the answers of older ones (ticket).
  let items = [];
  let total = 0;
  let ticket = 0;
  async function load(append = false) {
    const mine = ++ticket;
    const params = new URLSearchParams({ limit: PAGE, offset: append ? items.length : 0 });
    if (search.value.trim()) params.set("q", search.value.trim());
    if (category.value) params.set("category", category.value);
    if (brand.value) params.set("brand_id", brand.value);
    more.disabled = true;
    try {
      const page = await api.get(`/api/device-types?${params}`);
      if (mine !== ticket) return;
      items = append ? items.concat(page.items) : page.items;
      total = page.total;
      renderRows(append ? page.items : items, append);
    } catch (err) {
      if (mine === ticket) {
        showError(err);
        status.textContent = "The device types could not be loaded.";
      }
    } finally {
      more.disabled = false;
    }
  }

  function renderRows(rows, append) {
    const brandsById = new Map(state.brands.map((b) => [b.id, b]));
    const trs = rows.map((t) => h("tr", { dataset: { typeId: t.id } },
      h("td", { class: "lead", "data-label": "Brand" }, h("span", { class: "brand-cell" }, brandLogo(brandsById.get(t.brand_id), "small"), t.brand)),
      h("td", { class: "lead br", "data-label": "Model" }, t.model),
      h("td", { "data-label": "Category" }, h("span", { class: `cat-chip cat-${t.category}`, style: { "--chip": `var(--cat-${t.category}, var(--cat-other))` } }, label(t.category))),
      h("td", { class: "num", "data-label": "Height" }, `${t.u_height} U`),
      h("td", { class: "num", "data-label": "Width" }, `${t.width_in}″`),
      h("td", { class: "num", "data-label": "Depth" }, t.depth_mm == null ? "–" : `${t.depth_mm} mm`),
      h("td", { class: "num", "data-label": "Weight" }, `${Number(t.weight_kg).toFixed(1)} kg`),
      h("td", { class: "num", "data-label": "Power" }, `${Math.round(t.power_w)} W`),
      h("td", { "data-label": "Airflow" }, airflowName[t.airflow] || label(t.airflow)),
      h("td", { class: "num", "data-label": "Ports" }, t.port_count ?? "–"),
      canWrite ? h("td", { class: "row-actions" },
        h("button", { type: "button", "aria-label": `Edit ${t.brand} ${t.model}`, onclick: () => edit(t) }, "Edit"),
        h("button", { type: "button", class: "danger", "aria-label": `Delete ${t.brand} ${t.model}`, onclick: () => remove(t) }, "Delete"))
        : null));
    if (append) tbody.append(...trs);
    else tbody.replaceChildren(...trs);
    table.hidden = items.length === 0;
    status.textContent = items.length === 0 ? "No device types match."
      : `Showing ${items.length} of ${total} device types.`;
    more.hidden = items.length >= total;
    more.textContent = `Show ${Math.min(PAGE, total - items.length)} more`;
  }

  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => load(), 300);  // one request when the typing pauses
  });
  search.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") { clearTimeout(timer); load(); }
  });
  category.addEventListener("change", () => load());
  brand.addEventListener("change", () => load());
  state.onBrands((brands) => {
    brandOptions(brands);
    renderRows(items, false);  // new logos and names, without a new request
  });

  function fields(t = {}) {
    return [
      { name: "brand_id", label: "Brand", type: "select", required: true, value: t.brand_id ?? "",
        options: [["", "Choose a brand…"], ...state.brands.map((b) => [b.id, b.name])] },
      { name: "model", label: "Model", required: true, maxlength: 100, value: t.model },
      { name: "category", label: "Category", type: "select", value: t.category ?? "server",
        options: CATEGORIES.map((c) => [c, label(c)]) },
      { name: "u_height", label: "Height (U)", type: "number", min: 1, max: 20, step: 1, required: true, value: t.u_height ?? 1 },
      { name: "width_in", label: "Width (inches)", type: "select", value: t.width_in ?? 19, options: [[10, "10″"], [19, "19″"], [23, "23″"]] },
      { name: "depth_mm", label: "Depth (mm)", type: "number", min: 1, max: 2000, step: 1, value: t.depth_mm, help: "Leave empty when unknown." },
      { name: "weight_kg", label: "Weight (kg)", type: "number", min: 0, max: 5000, step: 0.1, value: t.weight_kg ?? 0 },
      { name: "power_w", label: "Power (W, typical draw)", type: "number", min: 0, max: 100000, step: 1, value: t.power_w ?? 0 },
      { name: "airflow", label: "Airflow", type: "select", value: t.airflow ?? "front_to_back", options: AIRFLOWS },
      { name: "port_count", label: "Ports", type: "number", min: 0, max: 1024, step: 1, value: t.port_count, help: "Leave empty when unknown." },
    ];
  }

  // Form values in the API's types; weight and power are never null (they default to 0).
  function body(v) {
    return {
      ...v, brand_id: v.brand_id === "" ? null : Number(v.brand_id), width_in: Number(v.width_in),
      weight_kg: v.weight_kg ?? 0, power_w: v.power_w ?? 0,
    };
  }

  async function add() {
    const created = await formDialog({
      title: "Add a device type", fields: fields(), submitLabel: "Add device type",
      submit: (v) => api.post("/api/device-types", body(v)),
    });
    if (!created) return;
    toast(`Device type ${created.brand} ${created.model} added.`, "ok");
    // Show it at once: search for its model (one request).
    search.value = created.model;
    category.value = "";
    brand.value = "";
    await load();
  }

  async function edit(t) {
    const saved = await formDialog({
      title: `Edit ${t.brand} ${t.model}`, fields: fields(t),
      submit: (v) => {
        const changed = Object.fromEntries(Object.entries(body(v)).filter(([k, val]) => val !== t[k]));
        return Object.keys(changed).length ? api.patch(`/api/device-types/${t.id}`, changed) : t;
      },
    });
    if (!saved || saved === t) return;
    items = items.map((x) => (x.id === saved.id ? saved : x));
    renderRows(items, false);
    toast(`Device type ${saved.brand} ${saved.model} saved.`, "ok");
  }

  async function remove(t) {
    if (!await confirmDialog(`Delete the device type ${t.brand} ${t.model}? (Refused while devices of this type exist.)`)) return;
    try {
      await api.delete(`/api/device-types/${t.id}`);
      items = items.filter((x) => x.id !== t.id);
      total -= 1;
      renderRows(items, false);
      toast(`Device type ${t.brand} ${t.model} deleted.`, "ok");
    } catch (err) {
      showError(err);
    }
  }

  load();
  return () => clearTimeout(timer);
}
