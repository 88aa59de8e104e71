// Small DOM helpers shared by the views: element builder, toasts, dialogs, formatting.
import { errorMessage } from "./api.js";

// h("button", {class: "primary", onclick: fn}, "Save"): attributes starting with "on" are
// listeners, `dataset`/`style` objects are merged, false/null attributes are left out.
// Children are nodes or text (never parsed as HTML).
export function h(tag, attrs = {}, ...children) {
  const el = tag === "svg" || attrs.svg ? document.createElementNS("http://www.w3.org/2000/svg", tag)
    : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined || key === "svg") continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "style" && typeof value === "object") {
      for (const [prop, v] of Object.entries(value)) el.style.setProperty(prop, v);
    } else {
      el.setAttribute(key, value === true ? "" : value);
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// A message at the bottom of the screen; errors stay until dismissed.
export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  const item = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" },
    h("p", {}, ...String(message).split("\n").flatMap((line, i) => (i ? [h("br"), line] : [line]))),
    h("button", { type: "button", class: "icon", "aria-label": "Dismiss", onclick: () => item.remove() }, "×"));
  box.append(item);
  if (kind !== "error") setTimeout(() => item.remove(), 5000);
  return item;
}

export function showError(err) {
  console.warn(err);
  return toast(errorMessage(err), "error");
}

// Runs fn(); shows its error as a toast instead of failing silently. Returns fn's result
// or undefined.
export async function attempt(fn) {
  try {
    return await fn();
  } catch (err) {
    showError(err);
    return undefined;
  }
}

// A problem the dialog itself finds in what was typed (shown as it is, not as an error
// of the API).
export class FormError extends Error {}

// A modal <dialog> around a form: a heading, `content` (nodes), an error line, Cancel and
// a submit button. On submit, read() gives the values (it may throw a FormError), then
// submit(values) saves them (it may throw an ApiError); either message is shown in the
// dialog, which stays open. Resolves to submit's result (or the values), or null when
// cancelled (Cancel or Escape). onClose() runs when the dialog closes either way.
export function modalForm({ title, content = [], intro = null, submitLabel = "Save", read = () => ({}),
  submit = null, className = "", formClass = "", onClose = null }) {
  return new Promise((resolve) => {
    const error = h("p", { class: "form-error", role: "alert", hidden: true });
    const button = h("button", { type: "submit", class: "primary" }, submitLabel);
    const form = h("form", { method: "dialog", class: `form ${formClass}` },
      h("h2", {}, title), intro ? h("p", {}, intro) : null, content, error,
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => close(null) }, "Cancel"), button));
    const dialog = h("dialog", { class: `modal ${className}`, "aria-label": title }, form);
    const close = (result) => {
      if (onClose) onClose();
      dialog.close();
      dialog.remove();
      resolve(result);
    };
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      error.hidden = true;
      button.disabled = true;
      try {
        const values = read();
        close(submit ? (await submit(values)) ?? values : values);
      } catch (err) {
        error.textContent = err instanceof FormError ? err.message : errorMessage(err);
        error.hidden = false;
      } finally {
        button.disabled = false;
      }
    });
    dialog.addEventListener("cancel", (ev) => { ev.preventDefault(); close(null); });
    document.body.append(dialog);
    dialog.showModal();
  });
}

// modalForm with fields: [{name, label, type, value, options, required, help, ...}];
// resolves to the values (an object by field name) or what submit(values) returned.
export function formDialog({ title, fields, submitLabel = "Save", submit = null, intro = null }) {
  const inputs = {};
  const rows = fields.map((f) => {
    const id = `f-${f.name}-${Math.random().toString(36).slice(2, 8)}`;
    let input;
    if (f.type === "select") {
      input = h("select", { id, name: f.name, required: f.required },
        f.options.map((o) => {
          const [value, label] = Array.isArray(o) ? o : [o, o];
          return h("option", { value, selected: String(value) === String(f.value ?? "") }, label);
        }));
    } else if (f.type === "textarea") {
      input = h("textarea", { id, name: f.name, rows: 3, maxlength: f.maxlength }, f.value ?? "");
    } else if (f.type === "checkbox") {
      input = h("input", { id, name: f.name, type: "checkbox", checked: !!f.value });
    } else {
      input = h("input", {
        id, name: f.name, type: f.type || "text", value: f.value ?? "", required: f.required,
        min: f.min, max: f.max, step: f.step, maxlength: f.maxlength, minlength: f.minlength,
        autocomplete: f.autocomplete || "off", placeholder: f.placeholder,
      });
    }
    inputs[f.name] = [input, f];
    return h("div", { class: `field ${f.type === "checkbox" ? "check" : ""}` },
      h("label", { for: id }, f.label), input, f.help ? h("small", {}, f.help) : null);
  });
  const read = () => Object.fromEntries(Object.entries(inputs).map(([name, [input, f]]) => {
    if (f.type === "checkbox") return [name, input.checked];
    if (f.type === "number") return [name, input.value === "" ? null : Number(input.value)];
    return [name, input.value];
  }));
  return modalForm({ title, intro, content: rows, submitLabel, read, submit });
}

export async function confirmDialog(text, confirmLabel = "Delete") {
  const result = await formDialog({ title: "Are you sure?", intro: text, fields: [], submitLabel: confirmLabel });
  return result !== null;
}

// Downloads a Blob under a file name.
export function download(name, blob) {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export const fmt = {
  kg: (v) => (v == null ? "–" : `${Number(v).toFixed(1)} kg`),
  w: (v) => (v == null ? "–" : `${Math.round(Number(v))} W`),
  pct: (v) => (v == null ? "–" : `${Math.round(Number(v))} %`),
  label: (s) => String(s ?? "").replace(/_/g, " "),
};

// A labelled meter for a utilization figure (value/max with percentage).
export function meter(label, pct, text) {
  const level = pct == null ? "none" : pct > 100 ? "over" : pct >= 85 ? "high" : "ok";
  return h("div", { class: `meter ${level}` },
    h("span", { class: "meter-label" }, label),
    h("span", { class: "meter-bar", role: "meter", "aria-label": label, "aria-valuemin": 0,
      "aria-valuemax": 100, "aria-valuenow": pct == null ? 0 : Math.min(100, Math.round(pct)),
      "aria-valuetext": text },
    h("span", { class: "meter-fill", style: { width: `${Math.min(100, pct || 0)}%` } })),
    h("span", { class: "meter-text" }, text));
}
