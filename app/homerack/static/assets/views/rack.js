// Placeholder until the view lands.
import { h } from "../ui.js";

export function render(root) {
  root.append(h("h1", {}, "rack"));
}
