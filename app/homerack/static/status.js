// Shows the API's readiness on the landing page (no framework, no inline script: CSP friendly).
"use strict";
(async () => {
  const box = document.getElementById("status");
  const label = box.querySelector("span");
  try {
    const res = await fetch("api/health/ready", { headers: { Accept: "application/json" } });
    const body = await res.json().catch(() => ({}));
    const version = body.version ? ` (version ${body.version})` : "";
    label.textContent = res.ok ? `ready${version}` : `not ready: HTTP ${res.status}`;
    box.className = `status ${res.ok ? "ok" : "bad"}`;
  } catch (err) {
    label.textContent = "unreachable";
    box.className = "status bad";
  }
})();
