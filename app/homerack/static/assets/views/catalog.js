// The device catalog: device types (searched and paged by the API) and brands with their
// logos, as two tabs. The brands are read once (one call) and shared by both tabs: the
// brand filter, the device type form and the logos next to each model.
import { api, session } from "../api.js";
import { h } from "../ui.js";
import { mountBrands } from "./catalog-brands.js";
import { mountTypes } from "./catalog-types.js";

let lastTab = "types";  // the tab to show when the user comes back to the catalog

export async function render(root) {
  const canWrite = session.can("editor");
  const brands = await api.all("/api/brands");
  // Shared state: a change to the brands (new one, new logo) reaches every listener.
  const state = {
    brands,
    listeners: new Set(),
    setBrands(next) {
      state.brands = [...next].sort((a, b) => a.name.localeCompare(b.name));
      for (const fn of state.listeners) fn(state.brands);
    },
    onBrands(fn) { state.listeners.add(fn); },
  };
  state.brands.sort((a, b) => a.name.localeCompare(b.name));

  const tabs = [["types", "Device types"], ["brands", "Brands"]];
  const buttons = {};
  const panels = {};
  for (const [key, label] of tabs) {
    buttons[key] = h("button", {
      type: "button", role: "tab", id: `catalog-tab-${key}`, "aria-controls": `catalog-panel-${key}`,
      onclick: () => select(key), onkeydown: (ev) => arrows(ev, key),
    }, label);
    panels[key] = h("section", { role: "tabpanel", id: `catalog-panel-${key}`, "aria-labelledby": `catalog-tab-${key}`, class: "catalog-panel" });
  }
  function select(key, focus = false) {
    lastTab = key;
    for (const [k] of tabs) {
      const on = k === key;
      buttons[k].setAttribute("aria-selected", on ? "true" : "false");
      buttons[k].tabIndex = on ? 0 : -1;
      panels[k].hidden = !on;
    }
    if (focus) buttons[key].focus();
  }
  // The tab list's keyboard pattern: arrows, Home and End move between the tabs.
  function arrows(ev, key) {
    const keys = tabs.map(([k]) => k);
    const i = keys.indexOf(key);
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: keys.length - 1 }[ev.key];
    if (next === undefined) return;
    ev.preventDefault();
    select(keys[(next + keys.length) % keys.length], true);
  }

  root.append(
    h("div", { class: "toolbar" }, h("h1", {}, "Catalog"),
      h("span", { class: "muted" }, canWrite ? "" : "Read only: editors change the catalog.")),
    h("div", { class: "tabs", role: "tablist", "aria-label": "Catalog" }, tabs.map(([k]) => buttons[k])),
    panels.types, panels.brands);
  select(lastTab);

  const stopTypes = mountTypes(panels.types, { state, canWrite });
  mountBrands(panels.brands, { state, canWrite });
  return () => stopTypes();
}
