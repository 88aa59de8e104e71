// Import / export (admins): the whole inventory as one JSON document. Export downloads
// GET /api/export; import sends a file to POST /api/import, which replaces everything
// (atomically: a document with any error changes nothing) after the user confirms.
import { ApiError, errorMessage, request } from "../api.js";
import { confirmDialog, download, h, toast } from "../ui.js";
import { errorTable } from "./transfer-errors.js";

const KINDS = [["brands", "brand"], ["device_types", "device type"], ["racks", "rack"], ["devices", "device"], ["connections", "cable"]];

// "2 racks, 21 devices, …" from a document or from the import's counts.
function counts(source) {
  return KINDS.map(([key, name]) => {
    const n = Array.isArray(source?.[key]) ? source[key].length : source?.[key];
    return typeof n === "number" ? `${n} ${name}${n === 1 ? "" : "s"}` : null;
  }).filter(Boolean).join(", ");
}

const today = () => {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
};

export function render(root) {
  // --- export ---
  const exportButton = h("button", { type: "button", class: "primary" }, "Export inventory");
  const exportStatus = h("p", { class: "muted", role: "status" });
  exportButton.addEventListener("click", async () => {
    exportButton.disabled = true;
    exportStatus.textContent = "Exporting…";
    try {
      const resp = await request("GET", "/api/export", { raw: true });
      const blob = await resp.blob();
      let summary = "";
      try { summary = counts(JSON.parse(await blob.text())); } catch { summary = ""; }
      const name = `homerack-export-${today()}.json`;
      download(name, blob);
      exportStatus.textContent = `Saved ${name}${summary ? `: ${summary}` : ""}.`;
    } catch (err) {
      exportStatus.textContent = "";
      toast(errorMessage(err), "error");
    } finally {
      exportButton.disabled = false;
    }
  });

  // --- import ---
  const file = h("input", { type: "file", id: "import-file", accept: "application/json,.json" });
  const fileInfo = h("p", { class: "muted", id: "import-file-info", "aria-live": "polite" });
  const importButton = h("button", { type: "button", class: "danger", disabled: true }, "Import and replace…");
  const progress = h("div", { class: "import-progress", hidden: true },
    h("progress", { "aria-label": "Import progress" }), h("span", { role: "status" }));
  const result = h("div", { class: "import-result" });
  let doc = null;  // the chosen file, parsed (for the summary and the error rows' names)

  file.addEventListener("change", async () => {
    doc = null;
    result.replaceChildren();
    const f = file.files[0];
    importButton.disabled = !f;
    if (!f) { fileInfo.textContent = ""; return; }
    try {
      doc = JSON.parse(await f.text());
      const when = doc?.exported_at ? `, exported ${doc.exported_at}` : "";
      fileInfo.textContent = `${f.name}: ${counts(doc) || "no inventory sections"}${when}.`;
    } catch (err) {
      // Not JSON at all: the API would say the same; say it before asking anything.
      importButton.disabled = true;
      fileInfo.textContent = "";
      result.replaceChildren(h("div", { class: "import-refused", role: "alert" },
        h("h3", {}, "This file is not JSON"), h("p", {}, `${f.name}: ${err.message}`)));
    }
  });

  importButton.addEventListener("click", async () => {
    const f = file.files[0];
    if (!f) return;
    const what = counts(doc);
    const ok = await confirmDialog(
      `Importing replaces the whole inventory. Every brand, device type, rack, device and cable now in HomeRack is deleted and replaced by the file's${what ? ` ${what}` : " content"}. Users are kept. If the file has any error, nothing changes. Export first if you may want the current inventory back.`,
      "Replace the inventory");
    if (!ok) return;
    importButton.disabled = true;
    file.disabled = true;
    result.replaceChildren();
    progress.hidden = false;
    const started = performance.now();
    const label = progress.querySelector("span");
    label.textContent = `Importing ${f.name}…`;
    // The request gives no progress of its own: show that it is still running.
    const tick = setInterval(() => {
      label.textContent = `Importing ${f.name}… ${Math.round((performance.now() - started) / 1000)} s`;
    }, 1000);
    try {
      const answer = await request("POST", "/api/import", { body: f, contentType: "application/json" });
      result.replaceChildren(h("div", { class: "import-ok", role: "status" },
        h("h3", {}, "Import done"),
        h("p", {}, `The inventory now holds ${counts(answer?.imported) || "the file's records"}.`)));
      toast("The inventory was replaced.", "ok");
    } catch (err) {
      result.replaceChildren(h("div", { class: "import-refused", role: "alert" },
        h("h3", {}, err instanceof ApiError && err.status === 422
          ? "The import was refused: nothing changed" : "The import failed"),
        err instanceof ApiError ? h("p", {}, err.title) : null,
        err instanceof ApiError ? errorTable(err, doc) : h("p", {}, errorMessage(err))));
    } finally {
      clearInterval(tick);
      progress.hidden = true;
      file.disabled = false;
      importButton.disabled = !file.files[0];
    }
  });

  root.append(
    h("h1", {}, "Import / export"),
    h("div", { class: "transfer-grid" },
      h("section", { class: "card", "aria-labelledby": "export-title" },
        h("h2", { id: "export-title" }, "Export"),
        h("p", {}, "Download the whole inventory (brands, device types, racks, devices and cables) as one JSON file. Users and logo images are not part of it."),
        h("div", { class: "actions start" }, exportButton), exportStatus),
      h("section", { class: "card", "aria-labelledby": "import-title" },
        h("h2", { id: "import-title" }, "Import"),
        h("p", { class: "warning" }, h("strong", {}, "Import replaces everything: "),
          "the current brands, device types, racks, devices and cables are deleted and the file's are loaded instead. Users stay."),
        h("div", { class: "field" }, h("label", { for: file.id }, "Inventory file (JSON)"), file, fileInfo),
        h("div", { class: "actions start" }, importButton),
        progress)),
    result);
}
