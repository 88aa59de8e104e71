// The optimizer panel of a rack: weights of the four cost terms, a proposal drawn beside
// the current layout with its scores, moves and reasons, then Apply or Discard.
// Apply sends the same request with apply: true and the proposal's layout_version, so the
// API refuses (409) when the rack changed since the proposal; the same seed and input
// give the same layout, so the applied layout is the one shown.
import { api, ApiError, errorMessage } from "../api.js";
import { clear, h, toast } from "../ui.js";
import { applyScale, drawElevation, fitScale, span } from "./elevation.js";

const TERMS = [
  ["cable", "Cable length", 0.4, "short cables between connected devices"],
  ["weight", "Weight", 0.3, "heavy devices low"],
  ["thermal", "Heat", 0.2, "hot devices high, apart"],
  ["access", "Access", 0.1, "often-used devices near the ergonomic unit"],
];
const MINI_RAIL = 18;
let uid = 0;
const remembered = new Map();  // rack id -> last weights and time limit (for this tab)

export function openOptimizer(view, rack, { keyboard = false, returnTo = null } = {}) {
  const id = `opt-${++uid}`;
  const saved = remembered.get(rack.id) || {};
  const sliders = {};
  const fields = TERMS.map(([key, label, def, help]) => {
    const value = saved.weights?.[key] ?? def;
    const out = h("output", { for: `${id}-${key}` }, value.toFixed(2));
    const input = h("input", { id: `${id}-${key}`, type: "range", min: 0, max: 1, step: 0.05, value,
      "aria-describedby": `${id}-${key}-help`,
      oninput: () => { out.textContent = Number(input.value).toFixed(2); } });
    sliders[key] = input;
    return h("div", { class: "field opt-weight" },
      h("label", { for: input.id }, label), input, out,
      h("small", { id: `${id}-${key}-help` }, help));
  });
  const limit = h("input", { id: `${id}-limit`, type: "number", min: 100, max: 10000, step: 100,
    value: saved.time_limit_ms ?? 1000 });
  const run = h("button", { type: "submit", class: "primary" }, "Propose a layout");
  const status = h("div", { class: "opt-status", role: "status", "aria-live": "polite" });
  const result = h("div", { class: "opt-result" });
  const form = h("form", { class: "form opt-form" },
    h("fieldset", {}, h("legend", {}, "What matters (relative weights)"), fields),
    h("div", { class: "field" }, h("label", { for: limit.id }, "Time limit (ms)"), limit,
      h("small", {}, "Longer runs may find a better layout; the result is the same for the same input.")),
    h("div", { class: "actions" }, run));
  const body = h("div", { class: "optimize" }, form, status, result);

  let sizer = null;     // keeps the two drawings fitted to the panel
  let request = null;   // the body of the last proposal
  let proposal = null;

  const busy = (on, text = "") => {
    for (const b of body.querySelectorAll("button")) b.disabled = on;
    body.classList.toggle("busy", on);
    clear(status, on ? [h("span", { class: "spinner", "aria-hidden": "true" }), text] : text);
  };

  async function propose() {
    const weights = Object.fromEntries(TERMS.map(([key]) => [key, Number(sliders[key].value)]));
    if (!Object.values(weights).some((w) => w > 0)) {
      clear(status, h("p", { class: "form-error" }, "Give at least one term a weight above 0."));
      return;
    }
    const time = Math.round(Number(limit.value) || 1000);
    remembered.set(rack.id, { weights, time_limit_ms: time });
    request = { weights, time_limit_ms: time, apply: false };
    busy(true, `Optimizing ${rack.name}… (up to ${(time / 1000).toFixed(1)} s)`);
    clear(result);
    try {
      proposal = await api.post(`/api/racks/${rack.id}/optimize`, request);
      busy(false);
      showProposal();
    } catch (err) {
      busy(false);
      clear(status, h("p", { class: "form-error" }, errorMessage(err)));
    }
  }

  function showProposal() {
    const current = view.racks.get(rack.id) || rack;
    const p = proposal;
    const moves = p.placements.filter((x) => x.moved);
    const positions = new Map(p.placements.map((x) => [x.device_id, x.position_u]));
    const previous = new Map(current.devices.map((d) => [d.id, d.position_u]));
    const drawings = [];
    const mini = (label, opts) => {
      const el = drawElevation(current, { compact: true, ...opts });
      drawings.push(el);
      return h("figure", { class: "opt-figure" }, h("figcaption", {}, label), el);
    };
    const compare = h("div", { class: "opt-compare" }, mini("Current", {}), mini("Proposed", { positions, previous }));
    // Both drawings at one scale, each half of the panel's width (which changes with the
    // window, and when the panel turns into a full-screen sheet on a phone).
    const fit = () => {
      const width = (compare.clientWidth || body.clientWidth || 320) / 2 - 6;
      const scale = fitScale([{ width, rack: current }], 0.6, MINI_RAIL);
      for (const el of drawings) applyScale(el, scale, MINI_RAIL);
    };
    sizer?.disconnect();
    sizer = new ResizeObserver(fit);
    sizer.observe(compare);
    const sc = p.score;
    const pct = (s) => (s ? `${(s.score * 100).toFixed(1)}` : "–");
    const explain = new Map(p.explanations.map((e) => [e.device_id, e.text]));
    clear(result,
      h("p", { class: "opt-summary" },
        moves.length ? `${moves.length} device${moves.length === 1 ? "" : "s"} would move. ` : "The current layout is already the best found: nothing moves. ",
        `Score ${pct(sc.proposed)} (now ${pct(sc.current)}, higher is better)`,
        p.proof.optimal ? ", proven optimal." : `, best found by ${p.proof.method} in ${Math.round(p.elapsed_ms)} ms.`),
      compare,
      h("div", { class: "table-wrap" }, h("table", { class: "opt-terms" },
        h("caption", {}, "Cost of each term (lower is better)"),
        h("thead", {}, h("tr", {}, h("th", {}, "Term"), h("th", { class: "num" }, "Now"), h("th", { class: "num" }, "Proposed"))),
        h("tbody", {}, TERMS.map(([key, label]) => {
          const now = sc.current?.terms[key];
          const next = sc.proposed.terms[key];
          return h("tr", {}, h("th", { scope: "row" }, label),
            h("td", { class: "num" }, now == null ? "–" : now.toFixed(3)),
            h("td", { class: `num${now != null && next < now - 1e-9 ? " better" : next > (now ?? 0) + 1e-9 ? " worse" : ""}` }, next.toFixed(3)));
        })))),
      moves.length ? h("div", {},
        h("h3", {}, "Moves"),
        h("ol", { class: "opt-moves" }, moves.map((m) => {
          const u = m.top_u - m.position_u + 1;
          return h("li", {},
            h("strong", {}, m.name), ` ${m.previous_u == null ? "unplaced" : span(m.previous_u, u)} → ${span(m.position_u, u)}`,
            explain.has(m.device_id) ? h("span", { class: "muted" }, `: ${explain.get(m.device_id).replace(/^moved from \S+ to \S+: /, "")}`) : null);
        }))) : null,
      h("div", { class: "actions opt-actions" },
        h("button", { type: "button", onclick: discard }, "Discard"),
        view.canEdit ? h("button", { type: "button", class: "primary", disabled: !moves.length, onclick: apply },
          moves.length ? "Apply this layout" : "Nothing to apply")
          : h("p", { class: "muted" }, "Applying a layout needs the editor role.")));
  }

  function discard() {
    proposal = null;
    clear(result);
    clear(status, "Proposal discarded; the rack is unchanged.");
    run.focus();
  }

  async function apply() {
    busy(true, `Applying the layout to ${rack.name}…`);
    try {
      const done = await api.post(`/api/racks/${rack.id}/optimize`, { ...request, apply: true, layout_version: proposal.layout_version });
      busy(false);
      const same = done.placements.every((x) => proposal.placements.find((y) => y.device_id === x.device_id)?.position_u === x.position_u);
      const moved = done.placements.filter((x) => x.moved).length;
      proposal = null;
      clear(result);
      clear(status, h("p", { class: "opt-applied" }, `Layout applied: ${moved} device${moved === 1 ? "" : "s"} moved.`
        + (same ? "" : " It differs from the proposal shown: check the elevation.")));
      toast(`${rack.name}: optimized layout applied.`, "ok");
      await view.reload([rack.id]);
    } catch (err) {
      busy(false);
      // 409: the rack changed since the proposal (the API names it); 422: no longer valid.
      const changed = err instanceof ApiError && (err.status === 409 || err.status === 422);
      clear(status, h("div", { class: "opt-refused", role: "alert" },
        h("p", { class: "form-error" }, changed ? `Not applied: the rack changed since this proposal. ${errorMessage(err)}` : errorMessage(err)),
        changed ? h("button", { type: "button", class: "primary", onclick: propose }, "Re-run the optimizer") : null));
      clear(result);
      proposal = null;
      if (changed) await view.reload([rack.id]).catch(() => {});
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    propose();
  });
  view.openPanel({ kind: "optimize", id: rack.id, rackId: rack.id, heading: `Optimize ${rack.name}`,
    body, keyboard, returnTo, wide: true });
}
