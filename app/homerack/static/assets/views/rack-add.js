// "Add device" dialog of the rack view: a new device from the catalog (search the device
// types, name it) or one of the unplaced devices, at a chosen free unit or the first
// free unit that fits.
import { api, errorMessage } from "../api.js";
import { FormError, clear, h, modalForm, toast } from "../ui.js";
import { firstFree, freePositions, span } from "./elevation.js";

let uid = 0;

// Resolves to the placed device, or null when cancelled.
export function addDeviceDialog(rack, unit = null) {
  const id = `add-${++uid}`;
  let source = "catalog";
  let types = [];        // the catalog search results
  let unplaced = null;   // loaded when first chosen
  let chosen = null;     // the device type, or the unplaced device

  const status = h("p", { class: "muted add-status", role: "status" });
  const search = h("input", { id: `${id}-q`, type: "search", autocomplete: "off", placeholder: "Brand or model, e.g. UniFi" });
  const results = h("div", { class: "add-results", role: "radiogroup", "aria-labelledby": `${id}-results-label` });
  const name = h("input", { id: `${id}-name`, maxlength: 100, autocomplete: "off" });
  const device = h("select", { id: `${id}-device` });
  const position = h("select", { id: `${id}-pos` });

  const catalogPart = h("div", { class: "add-part" },
    h("div", { class: "field" }, h("label", { for: search.id }, "Search the catalog"), search),
    h("p", { class: "add-results-label", id: `${id}-results-label` }, "Device type"),
    results,
    h("div", { class: "field" }, h("label", { for: name.id }, "Device name"), name));
  const unplacedPart = h("div", { class: "add-part", hidden: true },
    h("div", { class: "field" }, h("label", { for: device.id }, "Device to place"), device));
  const sourceRadio = (value, label) => h("label", { class: "add-source" },
    h("input", { type: "radio", name: `${id}-source`, value, checked: value === source,
      onchange: () => switchSource(value) }), label);

  const height = () => chosen?.u_height || 1;

  // The position choices for the chosen height: first free unit, then each free unit.
  function fillPositions() {
    const keep = position.value || (unit ? String(unit) : "auto");
    const free = freePositions(rack, height());
    clear(position,
      h("option", { value: "auto" }, free.length ? `First free unit that fits (${span(firstFree(rack, height()), height())})` : "No free space for it"),
      free.map((p) => h("option", { value: p }, span(p, height()))));
    position.value = free.includes(Number(keep)) ? keep : "auto";
  }

  function drawTypes() {
    if (!types.length) {
      clear(results, h("p", { class: "muted" }, "No device type matches."));
      return;
    }
    clear(results, types.map((t) => {
      const odd = t.width_in !== rack.width_in;
      return h("label", { class: `add-type${odd ? " odd" : ""}` },
        h("input", { type: "radio", name: `${id}-type`, value: t.id, checked: chosen?.id === t.id,
          onchange: () => pick(t) }),
        h("span", {}, `${t.brand} ${t.model}`),
        h("small", { class: "muted" }, ` ${t.u_height}U · ${fmt(t.category)}${odd ? ` · ${t.width_in} in: does not fit this ${rack.width_in} in rack` : ""}`));
    }));
  }
  const fmt = (s) => String(s).replace(/_/g, " ");

  function pick(t) {
    chosen = t;
    if (!name.value.trim()) name.value = suggestName(t);
    fillPositions();
  }

  // Searches as the user types, paced: one request after a pause, not one per key.
  let timer = null;
  let asked = 0;
  async function find() {
    const mine = ++asked;
    status.textContent = "Searching…";
    try {
      const q = search.value.trim();
      const page = await api.get(`/api/device-types?limit=25${q ? `&q=${encodeURIComponent(q)}` : ""}`);
      if (mine !== asked) return;
      types = page.items;
      status.textContent = page.total > types.length ? `${page.total} matches; the first ${types.length} are shown.` : `${page.total} match${page.total === 1 ? "" : "es"}.`;
      drawTypes();
    } catch (err) {
      if (mine === asked) status.textContent = errorMessage(err);
    }
  }
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(find, 300);
  });
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {  // search now instead of submitting the form
      e.preventDefault();
      clearTimeout(timer);
      find();
    }
  });

  async function switchSource(value) {
    source = value;
    catalogPart.hidden = value !== "catalog";
    unplacedPart.hidden = value !== "unplaced";
    chosen = null;
    if (value === "unplaced") {
      if (!unplaced) {
        status.textContent = "Loading the unplaced devices…";
        try {
          unplaced = await api.all("/api/devices?placed=false");
          status.textContent = "";
        } catch (err) {
          status.textContent = errorMessage(err);
          unplaced = [];
        }
      }
      clear(device, unplaced.length
        ? unplaced.map((d) => h("option", { value: d.id }, `${d.name} (${d.brand} ${d.model}, ${d.u_height}U)`))
        : h("option", { value: "" }, "No unplaced devices"));
      chosen = unplaced[0] || null;
    } else {
      chosen = types.find((t) => String(t.id) === results.querySelector("input:checked")?.value) || null;
    }
    fillPositions();
  }
  device.addEventListener("change", () => {
    chosen = unplaced.find((d) => String(d.id) === device.value) || null;
    fillPositions();
  });

  // Checks what was chosen; the API has the last word on the placement itself.
  function read() {
    if (!chosen) throw new FormError(source === "catalog" ? "Choose a device type from the catalog." : "There is no unplaced device to choose.");
    if (source === "catalog" && !name.value.trim()) {
      name.focus();
      throw new FormError("Name the new device.");
    }
    const pos = position.value === "auto" ? firstFree(rack, height()) : Number(position.value);
    if (!pos) throw new FormError(`${rack.name} has no ${height()} free units in a row.`);
    return { pos };
  }
  async function save({ pos }) {
    const saved = source === "catalog"
      ? await api.post("/api/devices", { device_type_id: chosen.id, name: name.value.trim(), rack_id: rack.id, position_u: pos })
      : await api.patch(`/api/devices/${chosen.id}`, { rack_id: rack.id, position_u: pos });
    toast(`${saved.name} added to ${rack.name} at ${span(pos, height())}.`, "ok");
    return saved;
  }

  fillPositions();
  const done = modalForm({
    title: `Add a device to ${rack.name}`, className: "wide", formClass: "add-device", submitLabel: "Add device",
    content: [
      h("fieldset", { class: "add-sources" }, h("legend", {}, "Add"),
        sourceRadio("catalog", "A new device from the catalog"),
        sourceRadio("unplaced", "One of the unplaced devices")),
      catalogPart, unplacedPart,
      h("div", { class: "field" }, h("label", { for: position.id }, "Position"), position),
      status,
    ],
    read, submit: save, onClose: () => clearTimeout(timer),
  });
  search.focus();
  find();
  return done;
}

// "unifi-switch-pro-24-poe-1": a readable default name from the model (unique enough to
// edit, the API refuses a duplicate with its own message).
function suggestName(t) {
  const base = t.model.toLowerCase().replace(/\(.*?\)/g, "").replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 40);
  return base || "device";
}
