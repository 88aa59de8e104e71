// The brands tab: every brand as a card with its logo; editors add and edit brands and
// upload or remove logos (PUT /api/brands/{id}/logo with the file as the raw body).
import { api, errorMessage, request } from "../api.js";
import { confirmDialog, formDialog, h, showError, toast } from "../ui.js";

const ACCEPT = "image/png,image/jpeg,image/webp";

// A brand's logo, or its initials on a neutral tile when it has none. In tables the
// brand's name stands next to it, so there the image is decorative (alt="").
export function brandLogo(brand, size = "large") {
  if (brand?.logo_url) {
    return h("img", { class: `logo ${size}`, src: brand.logo_url, alt: size === "small" ? "" : `${brand.name} logo`,
      loading: "lazy", decoding: "async" });
  }
  const initials = String(brand?.name || "?").split(/\s+/).map((w) => w[0]).join("").slice(0, 2).toUpperCase();
  return h("span", { class: `logo-none ${size}`, "aria-hidden": "true" }, initials);
}

export function mountBrands(panel, { state, canWrite }) {
  const filter = h("input", { type: "search", id: "brands-q", placeholder: "Name", autocomplete: "off" });
  const status = h("p", { class: "muted", role: "status" });
  const grid = h("div", { class: "cards brand-cards" });
  const messages = new Map();  // brand id → {text, kind}: survives the re-render after a change
  panel.append(
    h("div", { class: "toolbar filters" },
      h("div", { class: "field" }, h("label", { for: filter.id }, "Filter brands"), filter),
      h("span", { class: "spacer" }),
      canWrite ? h("button", { type: "button", class: "primary", onclick: () => add() }, "Add brand") : null),
    status, grid);

  function render() {
    // Keep the keyboard focus on the same control of the same card across the re-render.
    const focusKey = document.activeElement?.dataset?.focusKey;
    const q = filter.value.trim().toLowerCase();
    const shown = state.brands.filter((b) => !q || b.name.toLowerCase().includes(q));
    status.textContent = `${shown.length} of ${state.brands.length} brands`;
    grid.replaceChildren(...shown.map(card));
    if (focusKey) grid.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`)?.focus();
  }

  function card(b) {
    const msg = messages.get(b.id);
    const key = (what) => ({ "data-focus-key": `${what}-${b.id}` });
    const upload = h("input", { type: "file", accept: ACCEPT, class: "visually-hidden", "aria-label": `Upload logo for ${b.name}`, ...key("upload") });
    upload.addEventListener("change", () => { if (upload.files[0]) uploadLogo(b, upload.files[0]); upload.value = ""; });
    return h("article", { class: "card brand-card", dataset: { brandId: b.id }, "aria-labelledby": `brand-name-${b.id}` },
      h("div", { class: "brand-head" },
        h("div", { class: "logo-frame" }, brandLogo(b)),
        h("div", {},
          h("h3", { id: `brand-name-${b.id}` }, b.name),
          // Only web addresses become links (a website field could hold anything).
          /^https?:\/\//i.test(b.website || "") ? h("a", { href: b.website, rel: "noopener noreferrer", target: "_blank" }, b.website.replace(/^https?:\/\//, ""))
            : b.website ? h("span", { class: "muted" }, b.website) : null,
          b.logo_url ? null : h("p", { class: "muted" }, "No logo"))),
      msg ? h("p", { class: `brand-msg ${msg.kind}`, role: msg.kind === "error" ? "alert" : "status" }, msg.text) : null,
      canWrite ? h("div", { class: "actions brand-actions" },
        h("label", { class: "button upload" }, b.logo_url ? "Replace logo" : "Upload logo", upload),
        b.logo_url ? h("button", { type: "button", "aria-label": `Remove logo of ${b.name}`, onclick: () => removeLogo(b), ...key("unlogo") }, "Remove logo") : null,
        h("button", { type: "button", "aria-label": `Edit brand ${b.name}`, onclick: () => edit(b), ...key("edit") }, "Edit"),
        h("button", { type: "button", class: "danger", "aria-label": `Delete brand ${b.name}`, onclick: () => remove(b), ...key("delete") }, "Delete"))
        : null);
  }

  function replace(brand) {
    state.setBrands(state.brands.map((x) => (x.id === brand.id ? brand : x)));
  }

  async function uploadLogo(b, file) {
    messages.set(b.id, { text: `Uploading ${file.name}…`, kind: "info" });
    render();
    try {
      // The API checks the content itself (and re-encodes it): its refusal is the message.
      const brand = await request("PUT", `/api/brands/${b.id}/logo`, { body: file, contentType: file.type || "application/octet-stream" });
      messages.set(b.id, { text: "Logo uploaded.", kind: "ok" });
      replace(brand);
    } catch (err) {
      messages.set(b.id, { text: `The logo was refused. ${errorMessage(err)}`, kind: "error" });
      render();
    }
  }

  async function removeLogo(b) {
    if (!await confirmDialog(`Remove the logo of ${b.name}?`, "Remove logo")) return;
    try {
      const brand = await api.delete(`/api/brands/${b.id}/logo`);
      messages.set(b.id, { text: "Logo removed.", kind: "ok" });
      replace(brand || { ...b, logo_url: null });
    } catch (err) {
      showError(err);
    }
  }

  const brandFields = (b = {}) => [
    { name: "name", label: "Name", required: true, maxlength: 100, value: b.name },
    { name: "website", label: "Website", type: "url", maxlength: 500, value: b.website, placeholder: "https://…" },
  ];

  async function add() {
    const brand = await formDialog({ title: "Add a brand", fields: brandFields(), submitLabel: "Add brand",
      submit: (v) => api.post("/api/brands", v) });
    if (!brand) return;
    filter.value = "";
    state.setBrands([...state.brands, brand]);
    toast(`Brand ${brand.name} added.`, "ok");
    grid.querySelector(`[data-brand-id="${brand.id}"]`)?.scrollIntoView({ block: "nearest" });
  }

  async function edit(b) {
    const brand = await formDialog({ title: `Edit brand ${b.name}`, fields: brandFields(b),
      submit: (v) => api.patch(`/api/brands/${b.id}`, v) });
    if (!brand) return;
    replace(brand);
    toast(`Brand ${brand.name} saved.`, "ok");
  }

  async function remove(b) {
    if (!await confirmDialog(`Delete the brand ${b.name}? (Refused while it has device types.)`)) return;
    try {
      await api.delete(`/api/brands/${b.id}`);
      state.setBrands(state.brands.filter((x) => x.id !== b.id));
      toast(`Brand ${b.name} deleted.`, "ok");
    } catch (err) {
      showError(err);
    }
  }

  filter.addEventListener("input", render);
  state.onBrands(render);
  render();
}
