// Pipelines: the known pipelines (start one), executions (filter, sort, page), an execution's DAG, step logs,
// retry and run again.
import { api, enc, everything } from "./api.js";
import { chart } from "./charts.js";
import { formDialog } from "./dialog.js";
import { adopt, badge, between, card, errorBox, h, link, note, num, when } from "./dom.js";
import { listView } from "./list.js";
import { canWrite } from "./session.js";

const STATUSES = ["RUNNING", "SUCCEEDED", "FAILED", "PENDING", "CANCELLED"];

function typed(text, example) {
  if (typeof example === "number") return Number(text);
  if (typeof example === "boolean") return text === "true";
  return text;
}

async function lastParams(name) {
  const latest = (await api(`/executions?name=${enc(name)}&limit=1`)).items[0];
  return latest ? (await api(`/executions/${enc(latest.id)}`)).params || {} : {};
}

export async function startPipeline(name, params, out) {
  try {
    const started = await api(`/pipelines/${enc(name)}/runs`, { method: "POST", body: { params } });
    out.replaceChildren(h("div", { class: "notice", role: "status", id: "started" },
      `Started ${name} (job ${started.job.id}); its execution appears in the list when it begins. `,
      link(`#/pipelines?t=${Date.now()}`, "Refresh")));
  } catch (err) { out.replaceChildren(errorBox(err)); }
}

async function startDialog(name, out) {
  const params = await lastParams(name);
  const fields = Object.entries(params).map(([k, v]) => ({ name: k, label: k, value: String(v) }));
  const values = await formDialog({ title: `Start ${name}`, action: "Start", fields,
    intro: fields.length ? "The parameters of its last execution; change any." : "It takes no parameters." });
  if (values === null) return;
  const typedParams = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typed(v, params[k])]));
  await startPipeline(name, typedParams, out);
}

export async function pipelinesPage() {
  const out = h("div", { id: "start-result" });
  const known = await listView({ id: "pipelines", all: () => everything("/pipelines"), pageSize: 10, defaultSort: "name",
    filters: [{ key: "name", label: "name", value: (p) => p.name }],
    columns: [
      { key: "name", label: "pipeline", value: (p) => p.name, cell: (p) => link(`#/pipelines?executions.f.name=${enc(p.name)}`, p.name) },
      { key: "executions", label: "executions", numeric: true, value: (p) => p.executions, cell: (p) => num(p.executions) },
      { key: "last", label: "last started", value: (p) => p.last_started_at, cell: (p) => when(p.last_started_at) },
      { key: "start", label: "", cell: (p) => (canWrite() ? h("button", { class: "start", "data-pipeline": p.name, onclick: () => startDialog(p.name, out) }, "Start…") : "") },
    ] });
  let durations = null;
  const executions = await listView({ id: "executions", pageSize: 25, defaultSort: "-started",
    page: ({ limit, offset, sort, filters }) => api(`/executions?limit=${limit}&offset=${offset}&order=${sort === "started" ? "oldest" : "newest"}`
      + (filters.name ? `&name=${enc(filters.name)}` : "") + (filters.status ? `&status=${enc(filters.status)}` : "")),
    filters: [{ key: "name", label: "pipeline" }, { key: "status", label: "status", options: STATUSES }],
    columns: [
      { key: "id", label: "execution", cell: (e) => link(`#/executions/${e.id}`, e.id) },
      { key: "name", label: "pipeline", cell: (e) => e.name },
      { key: "status", label: "status", cell: (e) => badge(e.status) },
      { key: "started", label: "started", sort: "started", cell: (e) => when(e.started_at) },
      { key: "took", label: "took", numeric: true, cell: (e) => between(e.started_at, e.ended_at) },
      { key: "by", label: "by", cell: (e) => e.created_by },
    ],
    onRows: (rows) => {
      const done = rows.filter((e) => e.ended_at);
      durations = done.length ? chart({ kind: "bars", title: "duration of the executions on this page", unit: "s", width: 720,
        items: done.map((e) => ({ label: `${e.name} ${e.id.slice(-6)}`, value: (new Date(e.ended_at) - new Date(e.started_at)) / 1000,
          color: e.status === "FAILED" ? "#dc2626" : "#2563eb", href: `#/executions/${e.id}` })) }) : note("No finished execution on this page.");
    } });
  return [h("h1", {}, "Pipelines"), card("Pipelines", note("Pipelines the platform has run; start one again, by name."), out, known),
    card("Executions", executions), card("Duration of the executions listed", durations)];
}

async function stepLogs(id, step) {
  if (!step) return note("Choose a step in the DAG or in the steps table to see its logs.");
  const found = await api(`/executions/${enc(id)}/steps/${enc(step)}/logs`);
  return [h("p", {}, "Step ", h("strong", {}, step), " ", badge(found.status)), h("pre", { id: "logs" }, found.logs || "(no output)")];
}

function actions(ex, out) {
  if (!canWrite()) return null;
  const retry = async () => {
    try {
      const started = await api(`/executions/${enc(ex.id)}/resume`, { method: "POST" });
      out.replaceChildren(h("div", { class: "notice", role: "status" }, `Retrying the steps that did not succeed (job ${started.job.id}). `,
        link(`#/executions/${ex.id}?t=${Date.now()}`, "Refresh")));
    } catch (err) { out.replaceChildren(errorBox(err)); }
  };
  return h("div", { class: "actions" },
    ex.status === "FAILED" ? h("button", { class: "primary", id: "retry", onclick: retry }, "Retry failed steps") : null,
    ex.status !== "RUNNING" ? h("button", { id: "run-again", onclick: () => startPipeline(ex.name, ex.params || {}, out) }, "Run again with these parameters") : null);
}

export async function executionPage(id, query) {
  const [ex, view] = await Promise.all([api(`/executions/${enc(id)}`), api(`/executions/${enc(id)}/view`)]);
  const out = h("div", { id: "action-result" });
  const logs = await stepLogs(id, query.get("step"));
  if (ex.status === "RUNNING") setTimeout(() => { if (location.hash.startsWith(`#/executions/${id}`)) window.dispatchEvent(new HashChangeEvent("hashchange")); }, 2000);
  return [h("h1", {}, `Execution of ${ex.name} `, badge(ex.status)),
    h("p", { class: "crumbs" }, link("#/pipelines", "Pipelines"), " › ", link(`#/pipelines?executions.f.name=${enc(ex.name)}`, ex.name), " › ", ex.id),
    actions(ex, out), out,
    card("Execution", h("div", { id: "dag" }, adopt(view.html))),
    card("Step logs", h("div", { id: "step-logs" }, logs))];
}
