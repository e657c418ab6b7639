// The loopml web UI: a hash router over pages that read the REST API with the user's bearer token.
import { api, ApiError, clearToken, enc, setToken, token } from "./api.js";
import { barChart, graph, lineChart, STATUS_COLORS } from "./charts.js";
import { badge, dl, fmt, h, table, when } from "./dom.js";

const main = document.getElementById("main");
let me = null;

function show(...nodes) { main.replaceChildren(...nodes); }
function go(hash) { location.hash = hash; }
function errorBox(err) { return h("div", { class: "error", role: "alert" }, err.message || String(err)); }

async function login() {
  const input = h("input", { class: "wide", type: "password", placeholder: "lml_…", "aria-label": "token", id: "token" });
  const out = h("div");
  const submit = async (event) => {
    event.preventDefault();
    setToken(input.value.trim());
    try { me = await api("/me"); renderWho(); go("#/pipelines"); } catch (err) { clearToken(); out.replaceChildren(errorBox(err)); }
  };
  show(h("h1", {}, "Sign in"), h("div", { class: "card" },
    h("p", {}, "Paste a bearer token. An admin creates one on the server with ", h("code", {}, "loopml tokens create --user NAME"), "."),
    h("form", { onsubmit: submit }, input, " ", h("button", { class: "primary", type: "submit", id: "login" }, "Sign in")), out));
}

function renderWho() {
  const who = document.getElementById("who");
  if (!me) { who.replaceChildren(); return; }
  who.replaceChildren(`${me.user} (${me.roles.join(", ")})`,
    h("button", { onclick: () => { clearToken(); me = null; renderWho(); go("#/login"); } }, "Sign out"));
}

const canApprove = () => me && (me.roles.includes("approver") || me.roles.includes("admin"));

async function pipelinesPage() {
  const page = await api("/executions?limit=100");
  const durations = page.items.filter((e) => e.ended_at).slice(0, 15).map((e) => ({
    label: `${e.name} ${e.id.slice(-6)}`, value: (new Date(e.ended_at) - new Date(e.started_at)) / 1000,
    color: e.status === "FAILED" ? "#dc2626" : "#2563eb" }));
  show(h("h1", {}, "Pipeline executions"),
    h("div", { class: "card" }, h("h2", {}, "Duration (s) of recent executions"), barChart(durations, { label: "durations" })),
    table([["execution", (e) => e.id], ["pipeline", (e) => e.name], ["status", (e) => badge(e.status)],
      ["started", (e) => when(e.started_at)], ["by", (e) => e.created_by]], page.items, (e) => go(`#/executions/${e.id}`)));
}

async function executionPage(id) {
  const ex = await api(`/executions/${enc(id)}`);
  const logs = h("pre", { id: "logs" }, "Click a step to see its logs.");
  const nodes = ex.steps.map((st) => ({ id: st.step, label: st.step, color: STATUS_COLORS[st.status] || "#fff",
    sub: `${st.status}${st.cache_hit ? " · cache hit" : ""}${st.duration_ms != null ? ` · ${Math.round(st.duration_ms)} ms` : ""}` }));
  const edges = ex.steps.flatMap((st) => (st.upstream || []).map((u) => [u, st.step]));
  const showLogs = async (n) => {
    const found = await api(`/executions/${enc(id)}/steps/${enc(n.id)}/logs`);
    logs.textContent = found.logs || "(no output)";
  };
  const hits = ex.steps.filter((st) => st.cache_hit).length;
  show(h("h1", {}, `Execution ${ex.id} `, badge(ex.status)),
    h("div", { class: "card" }, dl([["pipeline", ex.name], ["started", when(ex.started_at)], ["ended", when(ex.ended_at)],
      ["by", ex.created_by], ["cache hits", `${hits} of ${ex.steps.length} steps`], ["params", fmt(ex.params)], ["error", ex.error]])),
    h("div", { class: "card", id: "dag" }, h("h2", {}, "DAG"), graph(nodes, edges, { onClick: showLogs })),
    h("div", { class: "card" }, h("h2", {}, "Step durations (ms)"), barChart(ex.steps.map((st) => ({ label: st.step, value: st.duration_ms || 0 })))),
    h("div", { class: "card" }, h("h2", {}, "Logs"), logs));
  if (ex.status === "RUNNING") setTimeout(() => { if (location.hash === `#/executions/${id}`) route(); }, 2000);
}

async function modelsPage() {
  const groups = await api("/models?limit=200");
  const pending = await api("/versions?status=PendingManualApproval&limit=50");
  show(h("h1", {}, "Model registry"),
    table([["group", (g) => g.name], ["latest", (g) => g.latest_version], ["approved", (g) => g.counts.Approved || 0],
      ["pending", (g) => g.counts.PendingManualApproval || 0], ["rejected", (g) => g.counts.Rejected || 0], ["created by", (g) => g.created_by]],
    groups.items, (g) => go(`#/models/${g.name}`)),
    h("h2", {}, "Waiting for approval"),
    table([["version", (v) => v.name], ["by", (v) => v.created_by], ["registered", (v) => when(v.created_at)]], pending.items,
      (v) => go(`#/models/${v.group}/${v.version}`)));
}

async function groupPage(group) {
  const versions = await api(`/models/${enc(group)}/versions?limit=200`);
  const names = [...new Set(versions.items.flatMap((v) => Object.keys(v.metrics)))].filter((m) => versions.items.some((v) => typeof v.metrics[m] === "number"));
  const series = names.map((m) => ({ name: m, points: versions.items.filter((v) => typeof v.metrics[m] === "number").map((v) => [v.version, v.metrics[m]]).reverse() }));
  show(h("h1", {}, `Model group ${group}`),
    h("div", { class: "card" }, h("h2", {}, "Metrics by version"), lineChart(series, { xLabel: "version", label: "metrics by version" })),
    table([["version", (v) => v.version], ["status", (v) => badge(v.status)], ["flavor", (v) => v.flavor],
      ["metrics", (v) => Object.entries(v.metrics).map(([k, x]) => `${k}=${fmt(x)}`).join(", ")],
      ["by", (v) => v.created_by], ["registered", (v) => when(v.created_at)]], versions.items, (v) => go(`#/models/${group}/${v.version}`)));
}

async function decide(group, version, verb, note, out) {
  try {
    await api(`/models/${enc(group)}/versions/${version}/${verb}`, { method: "POST", body: { note } });
    route();
  } catch (err) { out.replaceChildren(errorBox(err)); }
}

async function versionPage(group, version) {
  const [v, card, trail] = await Promise.all([api(`/models/${enc(group)}/versions/${version}`),
    api(`/models/${enc(group)}/versions/${version}/card`), api(`/models/${enc(group)}/versions/${version}/trail`)]);
  const out = h("div");
  const note = h("input", { placeholder: "note", "aria-label": "note", id: "note" });
  const actions = canApprove() && v.status === "PendingManualApproval" ? h("div", { class: "actions" }, note,
    h("button", { class: "primary", id: "approve", onclick: () => decide(group, version, "approve", note.value, out) }, "Approve"),
    h("button", { class: "danger", id: "reject", onclick: () => decide(group, version, "reject", note.value, out) }, "Reject")) : null;
  const metrics = Object.entries(v.metrics).filter(([, x]) => typeof x === "number").map(([k, x]) => ({ label: k, value: x }));
  const userFields = Object.entries(card).filter(([, x]) => typeof x === "string" && x);
  show(h("h1", {}, `${v.name} `, badge(v.status)),
    h("div", { class: "card" }, dl([["digest", v.digest], ["flavor", v.flavor], ["registered by", v.created_by],
      ["registered", when(v.created_at)], ["description", v.description], ["approved digest", v.approved_digest]]),
    actions, out, h("p", {}, h("a", { href: `#/lineage/${group}/${version}` }, "Lineage graph →"))),
    h("div", { class: "grid" },
      h("div", { class: "card" }, h("h2", {}, "Metrics"), barChart(metrics, { label: "metrics" })),
      h("div", { class: "card", id: "trail" }, h("h2", {}, "Approval trail"), table([["from", (t) => t.from || "-"], ["to", (t) => t.to],
        ["by", (t) => t.actor], ["at", (t) => when(t.at)], ["note", (t) => t.note]], trail.items))),
    h("div", { class: "card", id: "model-card" }, h("h2", {}, "Model card"), dl(userFields),
      card.evaluation ? h("div", {}, h("h2", {}, "Evaluation report"), h("pre", {}, JSON.stringify(card.evaluation, null, 2))) : h("p", { class: "muted" }, "No evaluation report attached."),
      h("h2", {}, "Signature"), h("pre", {}, JSON.stringify(v.signature, null, 2))));
}

async function lineagePage(group, version) {
  const lin = await api(`/models/${enc(group)}/versions/${version}/lineage`);
  const nodes = [], edges = [];
  const model = { id: "model", label: lin.model.name, sub: lin.model.status, color: "#dbeafe" };
  (lin.data || []).forEach((d, i) => nodes.push({ id: `data${i}`, label: `${d.name}@${d.version ?? "?"}`, sub: (d.sha256 || "").slice(7, 19), color: "#fef3c7" }));
  const ex = lin.execution;
  if (lin.code && lin.code.commit) nodes.push({ id: "code", label: "code", sub: String(lin.code.commit).slice(0, 12), color: "#f3e8ff" });
  if (ex) nodes.push({ id: "exec", label: ex.pipeline || "execution", sub: ex.id, color: "#dcfce7" });
  if (lin.run) nodes.push({ id: "run", label: "run", sub: lin.run, color: "#dcfce7" });
  nodes.push(model);
  const producer = ex ? "exec" : lin.run ? "run" : null;
  for (const n of nodes.filter((x) => x.id.startsWith("data") || x.id === "code")) edges.push([n.id, producer || "model"]);
  if (ex && lin.run) edges.push(["exec", "run"]);
  if (producer) edges.push([lin.run ? "run" : producer, "model"]);
  if (lin.approval && lin.approval.by) { nodes.push({ id: "approval", label: `approved by ${lin.approval.by}`, sub: when(lin.approval.at), color: "#bbf7d0" }); edges.push(["model", "approval"]); }
  show(h("h1", {}, `Lineage of ${lin.model.name}`),
    h("div", { class: "card", id: "lineage" }, graph(nodes, edges, { nodeW: 170, onClick: (n) => { if (n.id === "exec") go(`#/executions/${ex.id}`); } })),
    h("div", { class: "card" }, h("h2", {}, "Events"), table([["#", (e) => e.seq], ["when", (e) => when(e.ts)], ["who", (e) => e.actor], ["what", (e) => e.action]], lin.events)));
}

async function dataPage() {
  const [datasets, groups] = await Promise.all([api("/datasets?limit=200"), api("/feature-groups?limit=200")]);
  show(h("h1", {}, "Data"),
    h("h2", {}, "Datasets"), table([["name", (d) => d.name], ["version", (d) => d.version], ["rows", (d) => d.num_rows ?? d.rows],
      ["sha256", (d) => String(d.sha256 || "").slice(0, 19)], ["by", (d) => d.created_by]], datasets.items),
    h("h2", {}, "Feature groups"), table([["name", (g) => g.group?.name ?? g.name], ["version", (g) => g.version],
      ["features", (g) => Object.keys(g.group?.features || {}).join(", ")]], groups.items));
}

async function auditPage() {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const query = new URLSearchParams({ limit: "200" });
  for (const k of ["action", "actor", "resource"]) if (params.get(k)) query.set(k, params.get(k));
  const page = await api(`/audit?${query}`);
  const counts = {};
  page.items.forEach((e) => { counts[e.action] = (counts[e.action] || 0) + 1; });
  const inputs = ["action", "actor", "resource"].map((k) => h("input", { name: k, placeholder: k, value: params.get(k) || "" }));
  const apply = (ev) => { ev.preventDefault(); const q = new URLSearchParams(); inputs.forEach((i) => i.value && q.set(i.name, i.value)); go(`#/audit?${q}`); };
  show(h("h1", {}, "Audit log"), h("form", { class: "filters", onsubmit: apply }, inputs, h("button", { type: "submit" }, "Filter")),
    h("div", { class: "card" }, h("h2", {}, "Events by action"), barChart(Object.entries(counts).map(([label, value]) => ({ label, value })), { label: "events by action" })),
    table([["#", (e) => e.seq], ["when", (e) => when(e.ts)], ["actor", (e) => e.actor], ["action", (e) => e.action],
      ["resource", (e) => e.resource], ["details", (e) => fmt(e.details)]], page.items));
}

async function runsPage() {
  const page = await api("/runs?limit=100");
  const chosen = new Set();
  const out = h("div");
  const compare = async () => {
    const query = [...chosen].map((id) => `ids=${enc(id)}`).join("&");
    const cmp = await api(`/run-comparisons?${query}`);
    const rows = [...Object.entries(cmp.metrics).map(([k, v]) => ["metric", k, v]), ...Object.entries(cmp.params).map(([k, v]) => ["param", k, v])];
    const label = (id) => (page.items.find((r) => r.id === id) || {}).name || id.slice(-8);
    const charts = Object.entries(cmp.metrics).map(([k, values]) => h("div", { class: "card" }, h("h2", {}, k),
      barChart(cmp.runs.map((id, i) => ({ label: label(id), value: values[i] ?? 0 })), { label: k })));
    out.replaceChildren(h("h2", {}, "Comparison"), table([["", (r) => r[0]], ["name", (r) => r[1]],
      ...cmp.runs.map((id, i) => [label(id), (r) => fmt(r[2][i])])], rows), h("div", { class: "grid" }, charts));
  };
  const pick = (run) => h("input", { type: "checkbox", "aria-label": `compare ${run.id}`, onclick: (ev) => { ev.stopPropagation(); ev.target.checked ? chosen.add(run.id) : chosen.delete(run.id); } });
  show(h("h1", {}, "Runs and experiments"),
    h("div", { class: "actions" }, h("button", { id: "compare", onclick: () => compare().catch((err) => out.replaceChildren(errorBox(err))) }, "Compare selected")),
    table([["", pick], ["run", (r) => r.name || r.id], ["experiment", (r) => r.experiment], ["kind", (r) => r.kind],
      ["status", (r) => badge(r.status)], ["metrics", (r) => Object.entries(r.metrics || {}).map(([k, x]) => `${k}=${fmt(x)}`).join(", ")]],
    page.items, (r) => go(`#/runs/${r.id}`)), out);
}

async function runPage(id) {
  const run = await api(`/runs/${enc(id)}`);
  const keys = Object.keys(run.metrics || {});
  const series = await Promise.all(keys.map((k) => api(`/runs/${enc(id)}/metrics/${enc(k)}`)));
  const charts = series.map((sr) => h("div", { class: "card" }, h("h2", {}, sr.key),
    lineChart([{ name: sr.key, points: sr.points.filter((p) => p.value !== null).map((p) => [p.step, p.value]) }], { xLabel: "step", label: sr.key })));
  const trials = run.kind === "tuning" ? (await api(`/runs?parent_id=${enc(id)}&limit=200`)).items : [];
  const objective = trials.length ? Object.keys(trials[0].metrics || {})[0] : null;
  show(h("h1", {}, `Run ${run.name || run.id} `, badge(run.status)),
    h("div", { class: "card" }, dl([["id", run.id], ["experiment", run.experiment], ["kind", run.kind], ["model", run.model_digest],
      ["params", fmt(run.params)], ["code", fmt(run.code)]])),
    h("div", { class: "grid" }, charts),
    trials.length ? h("div", { class: "card", id: "trials" }, h("h2", {}, `Tuning trials (${objective})`),
      lineChart([{ name: objective, points: trials.slice().reverse().filter((t) => typeof t.metrics[objective] === "number").map((t, i) => [i + 1, t.metrics[objective]]) }], { xLabel: "trial" }),
      table([["trial", (t) => t.name || t.id], ["status", (t) => badge(t.status)], ["params", (t) => fmt(t.params)], [objective, (t) => fmt(t.metrics[objective])]], trials)) : null,
    h("div", { class: "card" }, h("h2", {}, "Status history"), table([["status", (x) => badge(x.status)], ["at", (x) => when(x.at)], ["reason", (x) => x.reason]], run.history || [])));
}

async function endpointsPage() {
  const page = await api("/endpoints?limit=200");
  show(h("h1", {}, "Endpoints"), table([["endpoint", (e) => e.name], ["mode", (e) => e.mode], ["models", (e) => e.models.join(", ")],
    ["status", (e) => badge(e.status)], ["updated", (e) => when(e.updated_at)]], page.items, (e) => go(`#/endpoints/${e.name}`)));
}

async function endpointPage(name) {
  const ep = await api(`/endpoints/${enc(name)}`);
  const variants = (ep.config && ep.config.variants) || [];
  const live = ep.live && typeof ep.live === "object" ? Object.entries(ep.live).filter(([, v]) => typeof v === "number") : [];
  show(h("h1", {}, `Endpoint ${ep.name} `, badge(ep.status)),
    h("div", { class: "card" }, dl([["mode", ep.mode], ["created by", ep.created_by], ["updated", when(ep.updated_at)], ["url", ep.runtime && ep.runtime.url]])),
    h("div", { class: "grid" },
      h("div", { class: "card" }, h("h2", {}, "Traffic weights"), barChart(variants.map((v) => ({ label: `${v.name || v.model}${v.shadow ? " (shadow)" : ""}`, value: v.weight || 0 })), { label: "weights" })),
      h("div", { class: "card" }, h("h2", {}, "Live figures"), live.length ? barChart(live.map(([label, value]) => ({ label, value }))) : h("p", { class: "muted" }, "Not running."))),
    h("div", { class: "card" }, h("h2", {}, "Variants"), table([["variant", (v) => v.name], ["model", (v) => v.model], ["digest", (v) => String(v.digest || "").slice(0, 19)], ["weight", (v) => v.weight]], variants)),
    h("div", { class: "card" }, h("h2", {}, "Events"), table([["when", (e) => when(e.at || e.ts)], ["what", (e) => e.kind || e.event || e.action], ["details", (e) => fmt(e.details || e)]], ep.events || [])));
}

async function monitoringPage() {
  const [schedules, runs, alarms, rules] = await Promise.all([api("/monitoring/schedules?limit=200"),
    api("/monitoring/executions?limit=200"), api("/alarms?limit=200"), api("/rules?limit=200")]);
  const byKey = {};
  for (const ex of runs.items.slice().reverse()) {
    const t = new Date(ex.window_end).getTime() / 1000;
    for (const [k, v] of Object.entries(ex.metrics || {})) {
      if (typeof v === "number" && k.startsWith("feature_baseline_drift_")) (byKey[k.slice(23)] ||= []).push([t, v]);
    }
  }
  const drift = Object.entries(byKey).slice(0, 7).map(([name, points]) => ({ name, points }));
  const ruleActions = await Promise.all(rules.items.map((r) => api(`/rules/${enc(r.name)}`)));
  show(h("h1", {}, "Monitoring"),
    h("div", { class: "grid" },
      h("div", { class: "card", id: "drift" }, h("h2", {}, "Drift per feature over time"), drift.length ? lineChart(drift, { xLabel: "window end", label: "drift" }) : h("p", { class: "muted" }, "No monitoring executions yet.")),
      h("div", { class: "card" }, h("h2", {}, "Violations per execution"), barChart(runs.items.slice(0, 12).map((ex) => ({
        label: `${ex.schedule || ex.endpoint} ${when(ex.window_end).slice(5, 16)}`, value: ex.violations || 0, color: ex.violations ? "#dc2626" : "#16a34a" }))))),
    h("h2", {}, "Alarms"), table([["alarm", (a) => a.name], ["metric", (a) => a.metric], ["state", (a) => badge(a.state)],
      ["reason", (a) => a.state_reason], ["since", (a) => when(a.state_updated_at)]], alarms.items),
    h("h2", {}, "Rules and the actions they took (e.g. retraining)"), table([["rule", (r) => r.name], ["actions", (r) => (r.actions || []).length],
      ["latest", (r) => (r.actions && r.actions[0]) ? `${r.actions[0].kind} ${r.actions[0].status} ${when(r.actions[0].created_at)}` : "-"],
      ["result", (r) => (r.actions && r.actions[0]) ? fmt(r.actions[0].result) : ""]], ruleActions),
    h("h2", {}, "Monitoring executions"), table([["window end", (ex) => when(ex.window_end)], ["schedule", (ex) => ex.schedule], ["endpoint", (ex) => ex.endpoint],
      ["type", (ex) => ex.monitor_type], ["status", (ex) => badge(ex.status)], ["violations", (ex) => ex.violations]], runs.items),
    h("h2", {}, "Schedules"), table([["schedule", (x) => x.name], ["kind", (x) => x.kind], ["enabled", (x) => String(x.enabled)]], schedules.items));
}

const ROUTES = [
  [/^#\/login$/, login],
  [/^#\/pipelines$/, pipelinesPage],
  [/^#\/executions\/([\w-]+)$/, executionPage],
  [/^#\/models$/, modelsPage],
  [/^#\/models\/([\w.-]+)$/, groupPage],
  [/^#\/models\/([\w.-]+)\/(\d+)$/, versionPage],
  [/^#\/lineage\/([\w.-]+)\/(\d+)$/, lineagePage],
  [/^#\/data$/, dataPage],
  [/^#\/audit(\?.*)?$/, auditPage],
  [/^#\/runs$/, runsPage],
  [/^#\/runs\/([\w-]+)$/, runPage],
  [/^#\/endpoints$/, endpointsPage],
  [/^#\/endpoints\/([\w-]+)$/, endpointPage],
  [/^#\/monitoring$/, monitoringPage],
];

async function route() {
  const hash = location.hash || "#/pipelines";
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", hash.startsWith(a.getAttribute("href"))));
  if (!token() && !me && hash !== "#/login") {
    try { me = await api("/me"); renderWho(); } catch { go("#/login"); return; }  // single-user mode needs no token
  }
  for (const [pattern, page] of ROUTES) {
    const match = hash.match(pattern);
    if (!match) continue;
    try {
      if (!me && hash !== "#/login") { me = await api("/me"); renderWho(); }
      delete main.dataset.route;
      await page(...match.slice(1).filter((x) => x !== undefined && !String(x).startsWith("?")));
      main.dataset.route = hash;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) { clearToken(); me = null; renderWho(); go("#/login"); return; }
      show(errorBox(err));
      main.dataset.route = hash;
    }
    return;
  }
  show(errorBox(new Error(`no page ${hash}`)));
}

window.addEventListener("hashchange", route);
route();
