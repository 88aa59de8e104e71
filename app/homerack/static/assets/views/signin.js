// Sign in with a username and password; the token stays in this tab's sessionStorage.
import { errorMessage, session } from "../api.js";
import { h } from "../ui.js";

export function render(root, { navigate, afterSignIn }) {
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const username = h("input", { id: "username", name: "username", autocomplete: "username", required: true });
  const password = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h("form", { class: "form signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in to HomeRack"),
    h("div", { class: "field" }, h("label", { for: "username" }, "Username"), username),
    h("div", { class: "field" }, h("label", { for: "password" }, "Password"), password),
    error, h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    submit.disabled = true;
    try {
      await session.signIn(username.value, password.value);
      navigate(afterSignIn && !afterSignIn.startsWith("#/signin") ? afterSignIn : "#/racks");
    } catch (err) {
      error.textContent = errorMessage(err);
      error.hidden = false;
      password.select();
    } finally {
      submit.disabled = false;
    }
  });
  root.append(form);
  (session.user ? submit : username).focus();
}
