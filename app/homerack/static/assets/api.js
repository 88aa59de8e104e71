// The API client: the session's token, JSON requests, readable errors, and a pacer that
// keeps the page inside nginx's per-address rate limit (20 r/s, burst 40).

const TOKEN_KEY = "homerack.session";

// Not more than 10 requests a second with a burst of 20: half of what nginx allows, so
// two tabs of the same person still fit. Requests over the budget wait, they never fail.
const PACE = { rate: 10, burst: 20 };
let tokens = PACE.burst;
let lastRefill = performance.now();
let chain = Promise.resolve();

function pace() {
  const turn = chain.then(async () => {
    for (;;) {
      const now = performance.now();
      tokens = Math.min(PACE.burst, tokens + ((now - lastRefill) / 1000) * PACE.rate);
      lastRefill = now;
      if (tokens >= 1) {
        tokens -= 1;
        return;
      }
      await sleep(((1 - tokens) / PACE.rate) * 1000);
    }
  });
  chain = turn;
  return turn;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class ApiError extends Error {
  constructor(status, body, fallback) {
    const title = body?.title || fallback || `HTTP ${status}`;
    super(body?.description ? `${title}: ${body.description}` : title);
    this.status = status;
    this.title = title;
    this.description = body?.description || "";
    this.body = body || {};
  }

  // Per-field problems of a refused request (422 "errors": [{field, reason}]), as lines.
  get problems() {
    const list = Array.isArray(this.body.errors) ? this.body.errors : [];
    return list.map((p) => (p.field ? `${p.field}: ${p.reason}` : String(p.reason ?? p)));
  }
}

// --- the session ----------------------------------------------------------------------
// sessionStorage: survives a reload of this tab, gone when the tab closes, never sent
// anywhere by the browser (unlike a cookie).
const listeners = new Set();
let current = null;
try {
  current = JSON.parse(sessionStorage.getItem(TOKEN_KEY) || "null");
} catch {
  current = null;
}

export const session = {
  get user() { return current?.user || null; },
  get token() { return current?.token || null; },
  can(role) {
    const rank = { viewer: 0, editor: 1, admin: 2 };
    return current ? rank[current.user.role] >= rank[role] : false;
  },
  async signIn(username, password) {
    const body = await request("POST", "/api/auth/login", { body: { username, password }, anonymous: true });
    current = { token: body.access_token, user: body.user, expires: Date.now() + body.expires_in * 1000 };
    sessionStorage.setItem(TOKEN_KEY, JSON.stringify(current));
    emit(null);
    return current.user;
  },
  // Checks the stored token once at start (it may have expired or been revoked) and
  // picks up a changed role.
  async refresh() {
    if (!current) return;
    const user = await request("GET", "/api/auth/me");
    current = { ...current, user };
    sessionStorage.setItem(TOKEN_KEY, JSON.stringify(current));
  },
  signOut(reason = null) {
    current = null;
    sessionStorage.removeItem(TOKEN_KEY);
    emit(reason);
  },
  onChange(fn) { listeners.add(fn); return () => listeners.delete(fn); },
};

function emit(reason) {
  for (const fn of listeners) fn(reason);
}

// --- requests ----------------------------------------------------------------------------
let inflight = 0;
const progress = new Set();
export function onProgress(fn) { progress.add(fn); }
function busy(delta) {
  inflight += delta;
  for (const fn of progress) fn(inflight);
}

// request(method, path, {body, raw, contentType, anonymous}): the parsed JSON answer (null
// for 204), or the Response itself with raw: true. Throws ApiError with the API's message.
export async function request(method, path, opts = {}) {
  const headers = { Accept: "application/json" };
  let payload = opts.body;
  if (payload !== undefined && !(payload instanceof Blob) && !(payload instanceof ArrayBuffer)) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(payload);
  } else if (payload !== undefined) {
    headers["Content-Type"] = opts.contentType || payload.type || "application/octet-stream";
  }
  if (!opts.anonymous && current) headers.Authorization = `Bearer ${current.token}`;
  for (let attempt = 0; ; attempt++) {
    await pace();
    busy(+1);
    let resp;
    try {
      resp = await fetch(path, { method, headers, body: payload });
    } catch {
      throw new ApiError(0, null, "Cannot reach the HomeRack server (check the connection)");
    } finally {
      busy(-1);
    }
    if (resp.status === 429 && method === "GET" && attempt === 0) {
      await sleep(Math.min(10, Number(resp.headers.get("Retry-After")) || 1) * 1000);
      continue;
    }
    if (!resp.ok) {
      let body = null;
      try { body = await resp.json(); } catch { body = null; }
      if (resp.status === 401 && !opts.anonymous && current) {
        // Expired, or revoked by a change of the account (password, role, deactivation).
        const why = (body?.description || "").replace(/;?\s*sign in again\.?$/i, "");
        session.signOut(`Your session has ended${why ? ` (${why})` : ""}: sign in again.`);
      }
      throw new ApiError(resp.status, body, resp.statusText);
    }
    if (opts.raw) return resp;
    return resp.status === 204 ? null : resp.json();
  }
}

export const api = {
  get: (path) => request("GET", path),
  post: (path, body) => request("POST", path, { body }),
  patch: (path, body) => request("PATCH", path, { body }),
  put: (path, body, contentType) => request("PUT", path, { body, contentType }),
  delete: (path) => request("DELETE", path),
  // Every item of a paged list (limit 200 a page).
  async all(path) {
    const items = [];
    const sep = path.includes("?") ? "&" : "?";
    for (let offset = 0; ; offset += 200) {
      const page = await request("GET", `${path}${sep}limit=200&offset=${offset}`);
      items.push(...page.items);
      if (items.length >= page.total || page.items.length === 0) return items;
    }
  },
};

// A readable message for anything thrown by a request (or by the page's own code).
export function errorMessage(err) {
  if (err instanceof ApiError) {
    // The description already lists a few problems; the full list when there are more.
    const problems = err.problems;
    return problems.length > 3 ? `${err.title}:\n${problems.join("\n")}` : err.message;
  }
  return `Unexpected error: ${err?.message || err}`;
}
