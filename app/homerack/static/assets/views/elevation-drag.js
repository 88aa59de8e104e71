// Moving devices in the drawn elevations: pointer drag (mouse, pen and touch) and the
// keyboard (Enter picks up, arrows move, Enter drops, Escape cancels). While moving, a
// ghost shows where the device would land; the API decides on the drop.
import { h } from "../ui.js";
import { clashes, span } from "./elevation.js";

const THRESHOLD = 5;  // px of movement before a press becomes a drag (else: a click)
const EDGE = 48;      // px from the window edge where a drag scrolls the page

// hooks: rack(id) -> the rack's data; canMove(device) -> true, or a reason (string) or
// false; move(device, fromRack, toRack, pos) -> Promise<boolean> (saved?);
// details(device, rack, {keyboard}); slot(rack, unit) (a free unit clicked);
// announce(text) (the live region). Returns a cleanup function.
export function attachMoves(root, hooks) {
  let active = null;    // the move in progress
  let pending = null;   // a press that may become a drag
  let suppressClick = false;

  const areas = () => [...root.querySelectorAll(".elev-area[data-interactive]")];
  const unitPx = (area) => area.getBoundingClientRect().height / Number(area.dataset.units);

  function lookup(block) {
    const area = block.closest(".elev-area");
    const rack = hooks.rack(Number(area.dataset.rackId));
    const device = rack?.devices.find((d) => d.id === Number(block.dataset.deviceId));
    return device ? { rack, device, area } : null;
  }

  // --- the ghost: where the device would land ---------------------------------------
  function setTarget(area, pos) {
    const { device, ghost } = active;
    if (!area) {
      active.target = null;
      ghost.remove();
      return;
    }
    const rack = hooks.rack(Number(area.dataset.rackId));
    const H = rack.u_height;
    pos = Math.max(1, Math.min(H - device.u_height + 1, pos));
    const hit = clashes(rack, pos, device.u_height, device.id);
    // A hint only: the API checks every rule on the drop and gives the reason.
    const width = device.width_in && device.width_in !== rack.width_in ? `${device.width_in} in, rack ${rack.width_in} in` : null;
    const tall = device.u_height > H ? "taller than the rack" : null;
    const problems = [hit.length ? `overlaps ${hit.map((d) => d.name).join(", ")}` : null, width, tall].filter(Boolean);
    active.target = { area, rack, pos, problems };
    ghost.style.setProperty("grid-row", `${Math.max(1, H - (pos + device.u_height - 1) + 1)} / span ${Math.min(H, device.u_height)}`);
    ghost.classList.toggle("clash", problems.length > 0);
    ghost.textContent = [span(pos, device.u_height), ...problems].join(" · ");
    if (ghost.parentNode !== area) area.append(ghost);
  }

  function describeTarget() {
    const t = active.target;
    if (!t) return "outside any rack";
    const where = `${span(t.pos, active.device.u_height)}${t.rack.id !== active.fromRack.id ? ` in ${t.rack.name}` : ""}`;
    return t.problems.length ? `${where}, ${t.problems.join(", ")}` : `${where}, free`;
  }

  function begin(mode, block, found) {
    active = { mode, block, ...found, fromRack: found.rack, target: null,
      ghost: h("div", { class: "ghost", "aria-hidden": "true" }) };
    block.classList.add(mode === "pointer" ? "dragging" : "picked");
    setTarget(found.area, found.device.position_u);
  }

  function finish() {
    if (!active) return;
    const { block, ghost } = active;
    ghost.remove();
    block.classList.remove("dragging", "picked");
    block.style.removeProperty("transform");
    active = null;
  }

  // Returns the block to its place with a short animation (a refused or cancelled move).
  function snapBack() {
    const { block } = active;
    block.classList.add("snapping");
    setTimeout(() => block.classList.remove("snapping"), 250);
    finish();
  }

  async function drop() {
    const { device, fromRack, target } = active;
    if (!target || (target.rack.id === fromRack.id && target.pos === device.position_u)) {
      if (active.mode === "keyboard") hooks.announce(`${device.name} stays at ${span(device.position_u, device.u_height)}.`);
      snapBack();
      return;
    }
    active.dropping = true;
    active.ghost.classList.add("saving");
    const ok = await hooks.move(device, fromRack, target.rack, target.pos);
    if (!active) return;
    if (ok) finish();
    else snapBack();
  }

  // --- pointer ------------------------------------------------------------------------
  function onPointerDown(e) {
    const block = e.target.closest(".elev-area[data-interactive] .device");
    if (!block || active || e.button !== 0 || !e.isPrimary) return;
    const found = lookup(block);
    if (!found) return;
    const rect = block.getBoundingClientRect();
    const unit = unitPx(found.area);
    // Which of the device's units was grabbed (0: its lowest), so it lands under the pointer.
    const grab = Math.max(0, Math.min(found.device.u_height - 1, Math.floor((rect.bottom - e.clientY) / unit)));
    pending = { block, found, grab, x: e.clientX, y: e.clientY, scrollY: window.scrollY, id: e.pointerId };
    window.addEventListener("pointermove", onPointerMove);
    window.addEventListener("pointerup", onPointerUp);
    window.addEventListener("pointercancel", onPointerCancel);
  }

  function stopListening() {
    window.removeEventListener("pointermove", onPointerMove);
    window.removeEventListener("pointerup", onPointerUp);
    window.removeEventListener("pointercancel", onPointerCancel);
  }

  function onPointerMove(e) {
    if (!pending || e.pointerId !== pending.id) return;
    if (!active) {
      if (Math.hypot(e.clientX - pending.x, e.clientY - pending.y) < THRESHOLD) return;
      const verdict = hooks.canMove(pending.found.device);
      if (verdict !== true) {
        if (typeof verdict === "string") hooks.refuse(verdict);
        pending = null;
        stopListening();
        return;
      }
      begin("pointer", pending.block, pending.found);
    }
    e.preventDefault();
    const dy = e.clientY - pending.y + (window.scrollY - pending.scrollY);
    active.block.style.setProperty("transform", `translate(${e.clientX - pending.x}px, ${dy}px)`);
    // The rack under the pointer (by column, so a pointer above or below still counts).
    const area = areas().find((a) => {
      const r = a.getBoundingClientRect();
      return e.clientX >= r.left - 16 && e.clientX <= r.right + 16 && e.clientY >= r.top - 60 && e.clientY <= r.bottom + 60;
    });
    if (area) {
      const r = area.getBoundingClientRect();
      const H = Number(area.dataset.units);
      const under = H - Math.floor((e.clientY - r.top) / unitPx(area));
      setTarget(area, Math.max(1, Math.min(H, under)) - pending.grab);
    } else {
      setTarget(null);
    }
    if (e.clientY < EDGE) window.scrollBy(0, -16);
    else if (e.clientY > window.innerHeight - EDGE) window.scrollBy(0, 16);
  }

  function onPointerUp(e) {
    if (!pending || e.pointerId !== pending.id) return;
    stopListening();
    pending = null;
    if (active?.mode === "pointer") {
      suppressClick = true;
      setTimeout(() => { suppressClick = false; }, 0);
      drop();
    }
  }

  // Escape during a pointer drag puts the device back; the pointer's release then does nothing.
  function onDragKey(e) {
    if (e.key === "Escape" && active?.mode === "pointer" && !active.dropping) {
      e.preventDefault();
      pending = null;
      stopListening();
      snapBack();
      // The button is still down: its release must not count as a click on the device.
      suppressClick = true;
      window.addEventListener("pointerup", () => setTimeout(() => { suppressClick = false; }, 0), { once: true });
    }
  }

  function onPointerCancel() {
    stopListening();
    pending = null;
    if (active?.mode === "pointer" && !active.dropping) snapBack();
  }

  function onClick(e) {
    if (suppressClick) return;
    const block = e.target.closest(".elev-area[data-interactive] .device");
    if (block) {
      const found = lookup(block);
      if (found) hooks.details(found.device, found.rack, { keyboard: false });
      return;
    }
    const slot = e.target.closest(".elev-area[data-interactive] .slot");
    if (slot && hooks.slot) {
      const rack = hooks.rack(Number(slot.closest(".elev-area").dataset.rackId));
      hooks.slot(rack, Number(slot.dataset.u));
    }
  }

  // --- keyboard -----------------------------------------------------------------------
  function onKeyDown(e) {
    const block = e.target.closest?.(".elev-area[data-interactive] .device");
    if (!block || e.altKey || e.ctrlKey || e.metaKey) return;
    if (active && active.mode === "keyboard" && active.block === block) {
      if (active.dropping) return e.preventDefault();
      const t = active.target;
      const list = areas();
      let handled = true;
      if (e.key === "ArrowUp") setTarget(t.area, t.pos + 1);
      else if (e.key === "ArrowDown") setTarget(t.area, t.pos - 1);
      else if ((e.key === "ArrowLeft" || e.key === "ArrowRight") && list.length > 1) {
        const i = list.indexOf(t.area) + (e.key === "ArrowLeft" ? -1 : 1);
        setTarget(list[(i + list.length) % list.length], t.pos);
      } else if (e.key === "Enter" || e.key === " ") {
        drop();
        handled = "drop";
      } else if (e.key === "Escape") {
        hooks.announce(`Move cancelled; ${active.device.name} stays at ${span(active.device.position_u, active.device.u_height)}.`);
        snapBack();
        handled = "cancel";
      } else handled = false;
      if (handled) {
        e.preventDefault();
        e.stopPropagation();
        if (handled === true) {
          active.ghost.scrollIntoView({ block: "nearest" });
          hooks.announce(describeTarget());
        }
      }
      return;
    }
    if (active || e.repeat) return;
    const found = lookup(block);
    if (!found) return;
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      const verdict = hooks.canMove(found.device);
      if (verdict === true) {
        begin("keyboard", block, found);
        const several = areas().length > 1 ? ", Left and Right change the rack" : "";
        hooks.announce(`Picked up ${found.device.name} at ${span(found.device.position_u, found.device.u_height)}. `
          + `Up and Down arrows move it${several}; Enter drops it, Escape cancels.`);
      } else if (typeof verdict === "string") {
        hooks.refuse(verdict);
      } else {
        hooks.details(found.device, found.rack, { keyboard: true });
      }
    } else if (e.key === "i" || e.key === "I") {
      e.preventDefault();
      hooks.details(found.device, found.rack, { keyboard: true });
    }
  }

  // Leaving a picked-up device with Tab or a click puts it back.
  function onFocusOut(e) {
    if (active?.mode === "keyboard" && !active.dropping && e.target === active.block) {
      hooks.announce(`Move cancelled; ${active.device.name} stays at ${span(active.device.position_u, active.device.u_height)}.`);
      snapBack();
    }
  }

  root.addEventListener("pointerdown", onPointerDown);
  root.addEventListener("click", onClick);
  root.addEventListener("keydown", onKeyDown);
  root.addEventListener("focusout", onFocusOut);
  document.addEventListener("keydown", onDragKey);
  return () => {
    document.removeEventListener("keydown", onDragKey);
    stopListening();
    root.removeEventListener("pointerdown", onPointerDown);
    root.removeEventListener("click", onClick);
    root.removeEventListener("keydown", onKeyDown);
    root.removeEventListener("focusout", onFocusOut);
  };
}
