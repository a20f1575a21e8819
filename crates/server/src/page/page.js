// The live page: a leaderboard fed by Server-Sent Events (/v1/stream), a
// rep's score explanation from /v1/reps/{id}, and the firing alerts.
"use strict";
const $ = (id) => document.getElementById(id);
let selected = null;
let snapshot = { reps: [], alerts: [] };

// The API token: from the address's fragment (#token=..., never sent to the
// server or kept in its logs), then kept for this tab only.
const token = (() => {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) { sessionStorage.setItem("salespulse-token", m[1]); history.replaceState(null, "", location.pathname); }
  return sessionStorage.getItem("salespulse-token");
})();
const authorised = () => (token ? { Authorization: "Bearer " + token } : {});

function text(v) { return v === null || v === undefined ? "–" : String(v); }
function num(v, digits) { return typeof v === "number" ? v.toFixed(digits) : text(v); }

function fillSelect(sel, values) {
  const keep = sel.value;
  const known = new Set([...sel.options].map((o) => o.value));
  for (const v of values) {
    if (!known.has(v)) { const o = document.createElement("option"); o.value = v; o.textContent = v; sel.appendChild(o); }
  }
  sel.value = keep;
}

function renderBoard() {
  const team = $("team").value, role = $("role").value;
  fillSelect($("team"), [...new Set(snapshot.reps.map((r) => r.team_id).filter(Boolean))].sort());
  fillSelect($("role"), [...new Set(snapshot.reps.map((r) => r.role).filter(Boolean))].sort());
  const rows = snapshot.reps.filter((r) => (!team || r.team_id === team) && (!role || r.role === role));
  const body = $("board").querySelector("tbody");
  body.replaceChildren(...rows.map((r, i) => {
    const tr = document.createElement("tr");
    tr.dataset.rep = r.rep_id;
    if (r.rep_id === selected) tr.className = "selected";
    for (const [v, cls] of [[i + 1, ""], [r.rep_id, ""], [text(r.team_id), ""], [text(r.role), ""], [num(r.score, 1), "num"]]) {
      const td = document.createElement("td"); td.textContent = v; if (cls) td.className = cls; tr.appendChild(td);
    }
    tr.addEventListener("click", () => explain(r.rep_id));
    return tr;
  }));
  $("updated").textContent = "as of " + new Date(snapshot.at).toLocaleTimeString() + " · " + rows.length + " reps";
}

function renderAlerts() {
  const list = $("alert-list");
  const alerts = snapshot.alerts.filter((a) => !selected || a.rep_id === selected || !a.rep_id);
  list.replaceChildren(...alerts.slice(0, 50).map((a) => {
    const li = document.createElement("li");
    li.className = "sev-" + a.severity;
    li.textContent = `${a.kind} · ${a.rep_id || a.source || ""} · ${a.message}`;
    return li;
  }));
  if (!alerts.length) { const li = document.createElement("li"); li.textContent = "none"; list.appendChild(li); }
}

async function explain(rep) {
  selected = rep;
  renderBoard();
  renderAlerts();
  const res = await fetch("/v1/reps/" + encodeURIComponent(rep), { headers: authorised() });
  if (!res.ok) return;
  const r = await res.json();
  $("explain").hidden = false;
  $("explain-title").textContent = `${r.rep_id}: score ${num(r.score, 1)} (${r.profile.name} v${r.profile.version})`;
  const st = r.standing || {};
  $("explain-meta").textContent = [
    st.role ? `#${st.role.rank} of ${st.role.of} in role` : "",
    st.team ? `#${st.team.rank} of ${st.team.of} in team` : "",
    st.company ? `#${st.company.rank} of ${st.company.of} in company` : "",
    "as of " + r.as_of,
  ].filter(Boolean).join(" · ");
  const body = $("explain").querySelector("tbody");
  body.replaceChildren(...r.components.map((c) => {
    const tr = document.createElement("tr");
    for (const [v, cls] of [[`${c.kpi} (${c.window})`, ""], [num(c.value, 2), "num"], [num(c.target, 2), "num"],
                            [num(c.attainment * 100, 0) + "%", "num"], [num(c.weight, 2), "num"], [num(c.points, 1), "num"]]) {
      const td = document.createElement("td"); td.textContent = v; if (cls) td.className = cls; tr.appendChild(td);
    }
    return tr;
  }));
  const items = (r.coaching && r.coaching.items) || [];
  $("explain-coaching").replaceChildren(...items.map((it) => {
    const li = document.createElement("li"); li.textContent = it.suggestion; return li;
  }));
}

// Server-Sent Events read with fetch (EventSource cannot send a token).
async function connect() {
  try {
    const res = await fetch("/v1/stream", { headers: authorised() });
    if (res.status === 401 || res.status === 403) {
      $("status").textContent = "needs a token: open the address the service printed (…/#token=…)";
      $("status").className = "status";
      return;
    }
    if (!res.ok || !res.body) throw new Error("HTTP " + res.status);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let end;
      while ((end = buf.indexOf("\n\n")) >= 0) {
        const frame = buf.slice(0, end); buf = buf.slice(end + 2);
        const data = frame.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
        if (frame.includes("event: snapshot") && data) onSnapshot(JSON.parse(data));
      }
    }
  } catch (e) { /* reconnect below */ }
  $("status").textContent = "reconnecting…"; $("status").className = "status";
  setTimeout(connect, 2000);
}

function onSnapshot(s) {
  snapshot = s;
  $("status").textContent = "live"; $("status").className = "status live";
  renderBoard();
  renderAlerts();
}

$("team").addEventListener("change", renderBoard);
$("role").addEventListener("change", renderBoard);
connect();
