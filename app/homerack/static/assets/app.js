// The shell: hash routes, the navigation bar, sign-in state, the progress bar.
// Each view is a module under views/ exporting render(root, ctx), which may return a
// cleanup function; ctx = {params, navigate}.
import { onProgress, session } from "./api.js";
import { clear, h, showError, toast } from "./ui.js";

const ROUTES = [
  // [pattern, view module, role needed, navigation label]
  [/^\/signin$/, "signin", null, null],
  [/^\/racks$/, "racks", "viewer", "Racks"],
  [/^\/racks\/(\d+(?:,\d+)*)$/, "rack", "viewer", null],
  [/^\/catalog$/, "catalog", "viewer", "Catalog"],
  [/^\/transfer$/, "transfer", "admin", "Import / export"],
  [/^\/users$/, "users", "admin", "Users"],
];

const main = document.getElementById("main");
let cleanup = null;
let routing = 0;
let afterSignIn = "#/racks";

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function renderNav(path) {
  const nav = document.getElementById("nav");
  const account = document.getElementById("account");
  nav.hidden = !session.user;
  clear(nav, ...ROUTES.filter(([, , role, label]) => label && session.can(role)).map(([re, , , label]) => {
    const href = `#${re.source.replace(/^\^\\?|\$$/g, "").replace(/\\\//g, "/")}`;
    const here = path === href.slice(1) || (href === "#/racks" && path.startsWith("/racks"));
    return h("a", { href, "aria-current": here ? "page" : false }, label);
  }));
  clear(account, session.user ? [
    h("span", { class: "who" }, `${session.user.username} (${session.user.role})`),
    h("button", { type: "button", onclick: () => session.signOut("You are signed out.") }, "Sign out"),
  ] : []);
}

async function route() {
  const path = location.hash.replace(/^#/, "") || "/racks";
  const match = ROUTES.map(([re, view, role]) => [path.match(re), view, role]).find(([m]) => m);
  if (!match) return navigate("#/racks");
  const [m, view, role] = match;
  if (role && !session.user) {
    afterSignIn = `#${path}`;
    return navigate("#/signin");
  }
  if (role && !session.can(role)) {
    toast(`This page needs the ${role} role.`, "error");
    return navigate("#/racks");
  }
  renderNav(path);
  const ticket = ++routing;
  const module = await import(`./views/${view}.js`).catch(showError);
  if (!module || ticket !== routing) return;  // a newer navigation won
  if (cleanup) cleanup();
  cleanup = null;
  // Each view renders into its own element, so a slow view that finishes after the user
  // moved on writes into a detached node, never into the next page.
  const root = h("div", { class: `view view-${view}` });
  clear(main, root);
  try {
    cleanup = (await module.render(root, { params: m.slice(1), navigate, afterSignIn })) || null;
  } catch (err) {
    showError(err);
  }
  const heading = main.querySelector("h1");
  document.title = heading ? `${heading.textContent} · HomeRack` : "HomeRack";
}

session.onChange((reason) => {
  if (reason) toast(reason, reason.includes("sign in again") ? "error" : "info");
  if (!session.user) {
    if (!location.hash.startsWith("#/signin")) afterSignIn = location.hash || "#/racks";
    navigate("#/signin");
  }
});

// A thin bar while requests are running longer than a moment.
const bar = document.getElementById("progress");
let barTimer = null;
onProgress((n) => {
  clearTimeout(barTimer);
  if (n > 0) barTimer = setTimeout(() => { bar.hidden = false; }, 150);
  else bar.hidden = true;
  main.setAttribute("aria-busy", n > 0 ? "true" : "false");
});

window.addEventListener("hashchange", route);
session.refresh().catch(() => {}).finally(route);  // a refused token has signed out already
