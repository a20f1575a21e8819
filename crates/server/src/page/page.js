// The live page: a leaderboard fed by Server-Sent Events (/v1/stream), a
// rep's score explanation from /v1/reps/{id}, and the firing alerts.
"use strict";
const $ = (id) => document.getElementById(id);
let selected = null;
let snapshot = { reps: [], alerts: [] };

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
  const res = await fetch("/v1/reps/" + encodeURIComponent(rep));
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

function connect() {
  const es = new EventSource("/v1/stream");
  es.addEventListener("snapshot", (e) => {
    snapshot = JSON.parse(e.data);
    $("status").textContent = "live"; $("status").className = "status live";
    renderBoard();
    renderAlerts();
  });
  es.onerror = () => { $("status").textContent = "reconnecting…"; $("status").className = "status"; };
}

$("team").addEventListener("change", renderBoard);
$("role").addEventListener("change", renderBoard);
connect();
