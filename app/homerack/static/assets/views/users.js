// User management (admins): the list, add, change role, reset password, deactivate or
// reactivate, delete. The API guards the rules (e.g. the last active admin); its refusals
// are shown as they are, and the row goes back to what the server holds.
import { api, errorMessage, session } from "../api.js";
import { confirmDialog, formDialog, h, toast } from "../ui.js";

const ROLES = [["viewer", "Viewer (reads)"], ["editor", "Editor (changes racks and the catalog)"], ["admin", "Admin (users, import)"]];
const ROLE_NAMES = { viewer: "Viewer", editor: "Editor", admin: "Admin" };

export async function render(root) {
  const tbody = h("tbody");
  const message = h("p", { class: "users-msg", role: "status", "aria-live": "polite" });
  const count = h("span", { class: "muted" });
  root.append(
    h("div", { class: "toolbar" }, h("h1", {}, "Users"), count, h("span", { class: "spacer" }),
      h("button", { type: "button", class: "primary", onclick: () => add() }, "Add user")),
    message,
    h("div", { class: "table-wrap" }, h("table", { class: "users-table flow", "aria-label": "Users" },
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Username"), h("th", { scope: "col" }, "Role"), h("th", { scope: "col" }, "Status"),
        h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
      tbody)));

  let users = await api.all("/api/users");

  // Errors go to the message line (role=alert) as the API words them.
  function say(text, kind = "ok") {
    message.className = `users-msg ${kind}`;
    message.setAttribute("role", kind === "error" ? "alert" : "status");
    message.textContent = text;
  }

  function renderRows() {
    const focusKey = document.activeElement?.dataset?.focusKey;
    users.sort((a, b) => a.username.localeCompare(b.username));
    count.textContent = `${users.length} ${users.length === 1 ? "user" : "users"}`;
    tbody.replaceChildren(...users.map(row));
    if (focusKey) tbody.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`)?.focus();
  }

  function row(u) {
    const me = u.username === session.user?.username;
    const key = (what) => ({ "data-focus-key": `${what}-${u.id}` });
    const role = h("select", { "aria-label": `Role of ${u.username}`, ...key("role") },
      ROLES.map(([value]) => h("option", { value, selected: value === u.role }, ROLE_NAMES[value])));
    role.addEventListener("change", () => changeRole(u, role));
    return h("tr", { dataset: { userId: u.id }, class: u.active ? "" : "inactive" },
      h("td", { class: "lead br", "data-label": "Username" }, h("strong", {}, u.username), me ? h("span", { class: "badge" }, "you") : null),
      h("td", { "data-label": "Role" }, role),
      h("td", { "data-label": "Status" }, h("span", { class: `state ${u.active ? "on" : "off"}` }, u.active ? "Active" : "Deactivated")),
      h("td", { class: "row-actions" },
        h("button", { type: "button", "aria-label": `Reset password of ${u.username}`, onclick: () => resetPassword(u), ...key("pw") }, "Reset password"),
        h("button", { type: "button", "aria-label": `${u.active ? "Deactivate" : "Reactivate"} ${u.username}`, onclick: () => toggleActive(u), ...key("active") },
          u.active ? "Deactivate" : "Reactivate"),
        h("button", { type: "button", class: "danger", "aria-label": `Delete ${u.username}`, onclick: () => remove(u), ...key("delete") }, "Delete")));
  }

  function replace(user) {
    users = users.map((x) => (x.id === user.id ? user : x));
    renderRows();
  }

  async function patch(u, body, done) {
    try {
      const user = await api.patch(`/api/users/${u.id}`, body);
      replace(user);
      say(done(user));
      return user;
    } catch (err) {
      say(errorMessage(err), "error");
      renderRows();  // back to the values the server still holds
      return null;
    }
  }

  async function changeRole(u, select) {
    const role = select.value;
    if (u.username === session.user?.username && role !== "admin"
        && !await confirmDialog(`Make yourself ${ROLE_NAMES[role].toLowerCase()}? Your session ends: sign in again to continue with the new role.`, "Change my role")) {
      select.value = u.role;
      return;
    }
    const user = await patch(u, { role }, (changed) => `${changed.username} is now ${ROLE_NAMES[changed.role].toLowerCase()}.`);
    // A change of your own account revokes your token (the API ends every session of it).
    if (user && u.username === session.user?.username) {
      session.signOut(`You are now ${ROLE_NAMES[user.role].toLowerCase()}: sign in again to continue.`);
    }
  }

  async function toggleActive(u) {
    const me = u.username === session.user?.username;
    const text = me ? "Deactivate your own account? You will be signed out and cannot sign in again until another admin reactivates you."
      : `Deactivate ${u.username}? They can no longer sign in; their role is kept.`;
    if (u.active && !await confirmDialog(text, "Deactivate")) return;
    const user = await patch(u, { active: !u.active }, (changed) => `${changed.username} is ${changed.active ? "active again" : "deactivated"}.`);
    if (user && me) session.signOut("Your account is deactivated.");
  }

  async function resetPassword(u) {
    const done = await formDialog({
      title: `Reset the password of ${u.username}`, submitLabel: "Set password",
      fields: [{ name: "password", label: "New password", type: "password", required: true, minlength: 10, maxlength: 1024,
        autocomplete: "new-password", help: "At least 10 characters. Tell the user over a safe channel." }],
      submit: (v) => api.patch(`/api/users/${u.id}`, { password: v.password }),
    });
    if (done && u.username === session.user?.username) session.signOut("Your password changed: sign in again with the new one.");
    else if (done) say(`The password of ${u.username} is changed.`);
  }

  async function remove(u) {
    if (!await confirmDialog(`Delete the user ${u.username}? Deactivating keeps the account for later.`)) return;
    try {
      await api.delete(`/api/users/${u.id}`);
      users = users.filter((x) => x.id !== u.id);
      renderRows();
      say(`${u.username} is deleted.`);
    } catch (err) {
      say(errorMessage(err), "error");
    }
  }

  async function add() {
    const user = await formDialog({
      title: "Add a user", submitLabel: "Add user",
      fields: [
        { name: "username", label: "Username", required: true, minlength: 2, maxlength: 64, autocomplete: "off" },
        { name: "password", label: "Password", type: "password", required: true, minlength: 10, maxlength: 1024,
          autocomplete: "new-password", help: "At least 10 characters." },
        { name: "role", label: "Role", type: "select", value: "viewer", options: ROLES },
        { name: "active", label: "Active (may sign in)", type: "checkbox", value: true },
      ],
      submit: (v) => api.post("/api/users", v),
    });
    if (!user) return;
    users.push(user);
    renderRows();
    toast(`User ${user.username} added.`, "ok");
    say(`${user.username} is added as ${ROLE_NAMES[user.role].toLowerCase()}.`);
  }

  renderRows();
}
