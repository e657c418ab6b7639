// Runs: a table with search, filters, sort on any metric or parameter, a choice of columns and the trials of
// tuning studies nested under them; a run's page; and the comparison of runs (parallel coordinates, a scatter
// of any two parameters or metrics, the differences highlighted).
import { api, enc } from "./api.js";
import { chart } from "./charts.js";
import { adopt, badge, between, card, h, link, note, num, when } from "./dom.js";
import { listView } from "./list.js";
import { artifactBrowser } from "./artifacts.js";

const KINDS = ["training", "tuning", "processing", "evaluation", "transform"];
const STATUSES = ["STARTING", "TRAINING", "INTERRUPTED", "COMPLETED", "FAILED", "STOPPED"];

function runsUrl({ limit, offset, sort, filters }) {
  const q = new URLSearchParams({ limit, offset });
  if (filters.trials !== "show") q.set("top_level", "true");
  if (filters.experiment) q.set("experiment", filters.experiment);
  if (filters.q) {  // a search cannot take the kind and status filters: they join it as clauses
    q.set("q", [filters.q, filters.kind && `kind = ${filters.kind}`, filters.status && `status = ${filters.status}`].filter(Boolean).join(" and "));
  } else {
    if (filters.kind) q.set("kind", filters.kind);
    if (filters.status) q.set("status", filters.status);
  }
  if (sort) q.set("order_by", `${sort.replace(/^-/, "")} ${sort.startsWith("-") ? "DESC" : "ASC"}`);
  return `/runs?${q}`;
}

// The keys of a field over the runs listed, the most shared first (validation metrics first among equals).
function keysOf(rows, field) {
  const count = {};
  rows.forEach((r) => Object.keys(r[field] || {}).forEach((k) => { count[k] = (count[k] || 0) + 1; }));
  const rank = (k) => [-count[k], k.startsWith("validation") ? 0 : 1, k];
  return Object.keys(count).sort((a, b) => { const [x, y] = [rank(a), rank(b)]; return x[0] - y[0] || x[1] - y[1] || x[2].localeCompare(y[2]); });
}

const heading = (group, key) => h("span", { class: "col-head" }, h("small", {}, group), key);

function runColumns(rows, pick) {
  const metrics = keysOf(rows, "metrics");
  const params = keysOf(rows, "params");
  return [
    { key: "name", label: "run", sort: "name", cell: (r) => h("span", {}, pick(r), " ", link(`#/runs/${r.id}`, r.name || r.id)) },
    { key: "experiment", label: "experiment", optional: true, cell: (r) => r.experiment },
    { key: "kind", label: "kind", sort: "kind", optional: true, cell: (r) => r.kind },
    { key: "status", label: "status", sort: "status", cell: (r) => badge(r.status) },
    { key: "created_at", label: "created", sort: "created_at", optional: true, cell: (r) => when(r.created_at) },
    { key: "took", label: "took", optional: true, hidden: true, numeric: true, cell: (r) => between(r.started_at, r.ended_at) },
    ...metrics.map((k, i) => ({ key: `metrics.${k}`, label: heading("metric", k), title: `metric ${k}`, sort: `metrics.${k}`,
      optional: true, hidden: i >= 3, numeric: true, cell: (r) => num(r.metrics?.[k]) })),
    ...params.map((k, i) => ({ key: `params.${k}`, label: heading("param", k), title: `param ${k}`, sort: `params.${k}`,
      optional: true, hidden: i >= 2, numeric: true, cell: (r) => num(r.params?.[k]) })),
  ];
}

export async function runsPage() {
  const chosen = new Set();
  const compare = h("a", { class: "button", id: "compare", href: "#/runs", "aria-disabled": "true" }, "Compare selected (0)");
  const update = () => {
    compare.textContent = `Compare selected (${chosen.size})`;
    compare.setAttribute("href", chosen.size >= 2 ? `#/compare?ids=${[...chosen].join(",")}` : "#/runs");
    compare.setAttribute("aria-disabled", String(chosen.size < 2));
  };
  const pick = (run) => h("input", { type: "checkbox", class: "pick", "data-run": run.id, "aria-label": `compare ${run.name || run.id}`,
    checked: chosen.has(run.id), onchange: (e) => { if (e.target.checked) chosen.add(run.id); else chosen.delete(run.id); update(); } });
  const list = await listView({ id: "runs", pageSize: 25, defaultSort: "-created_at", page: (args) => api(runsUrl(args)),
    filters: [{ key: "q", label: "search", size: 40, placeholder: "metrics.validation:auc > 0.8 and params.alpha = 0.001" },
      { key: "experiment", label: "experiment", size: 12 }, { key: "kind", label: "kind", options: KINDS },
      { key: "status", label: "status", options: STATUSES }, { key: "trials", label: "trials", options: ["show"], any: "hide" }],
    columns: (rows) => runColumns(rows, pick),
    children: (r) => (r.kind === "tuning" ? async () => (await api(`/runs?parent_id=${enc(r.id)}&limit=500&order_by=created_at%20ASC`)).items : null),
    rowId: (r) => r.id, tools: compare });
  return [h("h1", {}, "Runs"), card(null, note("Search with clauses such as metrics.validation:auc > 0.8 and params.alpha = 0.001; sort by any column; "
    + "a tuning study lists its trials under it (▸). Tick two or more runs to compare them."), list)];
}

export async function runPage(id, query) {
  const [run, view] = await Promise.all([api(`/runs/${enc(id)}`), api(`/runs/${enc(id)}/view`)]);
  const files = await artifactBrowser(`/runs/${enc(id)}`, query);
  const parent = run.parent_id ? [link(`#/runs/${run.parent_id}`, "study"), " › "] : [];
  return [h("h1", {}, `Run ${run.name || run.id} `, badge(run.status)),
    h("p", { class: "crumbs" }, link("#/runs", "Runs"), " › ", link(`#/runs?runs.f.experiment=${enc(run.experiment)}`, run.experiment), " › ", parent, run.name || run.id),
    card("Run", h("div", { id: "run-view" }, adopt(view.html))),
    card("Artifacts", h("div", { id: "artifacts" }, files))];
}

// -- comparison ------------------------------------------------------------------------------------------
const LOWER_IS_BETTER = /loss|error|rmse|mse|mae|brier|latency/i;

function differs(values) {
  const shown = values.map((v) => JSON.stringify(v ?? null));
  return new Set(shown).size > 1;
}

function table(cmp, runs) {
  const rows = [...Object.entries(cmp.params).map(([k, v]) => ["param", k, v]), ...Object.entries(cmp.metrics).map(([k, v]) => ["metric", k, v])];
  return h("div", { class: "table-scroll" }, h("table", { class: "list compare", id: "comparison" },
    h("thead", {}, h("tr", {}, h("th", {}, ""), h("th", {}, "name"), runs.map((r) => h("th", {}, link(`#/runs/${r.id}`, r.name || r.id))))),
    h("tbody", {}, rows.map(([group, key, values]) => {
      const numbers = values.filter((v) => typeof v === "number");
      const best = group !== "metric" || !numbers.length ? null : LOWER_IS_BETTER.test(key) ? Math.min(...numbers) : Math.max(...numbers);
      return h("tr", { class: differs(values) ? "differs" : null },
        h("td", { class: "muted" }, group), h("th", { scope: "row" }, key),
        values.map((v) => h("td", { class: ["num", v === best && differs(values) ? "best" : ""].join(" ").trim() }, typeof v === "number" ? num(v) : v === null || v === undefined ? "–" : String(v))));
    }))));
}

function axisPicker(name, keys, value) {
  return h("label", {}, `${name} `, h("select", { id: `axis-${name}`, onchange: (e) => {
    const q = new URLSearchParams(location.hash.split("?")[1] || "");
    q.set(name, e.target.value);
    location.hash = `#/compare?${q}`;
  } }, keys.map((k) => h("option", { value: k, selected: k === value }, k))));
}

export async function comparePage(query) {
  const ids = (query.get("ids") || "").split(",").filter(Boolean);
  if (ids.length < 2) return [h("h1", {}, "Compare runs"), note("Tick two or more runs on the Runs page to compare them.")];
  const [cmp, ...runs] = await Promise.all([api(`/run-comparisons?${ids.map((i) => `ids=${enc(i)}`).join("&")}`), ...ids.map((i) => api(`/runs/${enc(i)}`))]);
  const varying = Object.keys(cmp.params).filter((k) => differs(cmp.params[k]));
  const keys = [...Object.keys(cmp.params).map((k) => `params.${k}`), ...Object.keys(cmp.metrics).map((k) => `metrics.${k}`)];
  const valueOf = (key, i) => (key.startsWith("params.") ? cmp.params[key.slice(7)] : cmp.metrics[key.slice(8)])?.[i] ?? null;
  const x = query.get("x") || (varying[0] ? `params.${varying[0]}` : keys[0]);
  const y = query.get("y") || keys.find((k) => k.startsWith("metrics.")) || keys[1] || keys[0];
  const axes = [...varying.map((k) => `params.${k}`), ...Object.keys(cmp.metrics).map((k) => `metrics.${k}`)];
  const name = (i) => runs[i].name || runs[i].id;
  const parallel = axes.length ? chart({ kind: "parallel", title: "parameters and metrics", axes, width: 880,
    lines: runs.map((r, i) => ({ name: name(i), href: `#/runs/${r.id}`, values: axes.map((a) => valueOf(a, i)) })) }) : note("Nothing to draw.");
  const scatter = chart({ kind: "scatter", title: `${y} against ${x}`, x_label: x, y_label: y,
    points: runs.map((r, i) => ({ x: valueOf(x, i), y: valueOf(y, i), label: name(i), group: name(i), href: `#/runs/${r.id}` })) });
  const bars = Object.entries(cmp.metrics).map(([k, values]) => h("div", {}, h("h3", {}, k), chart({ kind: "bars", title: k, each_color: true, width: 420,
    items: runs.map((r, i) => ({ label: name(i), value: values[i], href: `#/runs/${r.id}` })).filter((b) => typeof b.value === "number") })));
  return [h("h1", {}, `Compare ${runs.length} runs`), h("p", { class: "crumbs" }, link("#/runs", "Runs"), " › compare"),
    card("Parameters and metrics", note("Rows whose values differ are highlighted; the best value of a metric (the lowest for a loss or an error) is in bold."), table(cmp, runs)),
    card("Parallel coordinates", h("div", { id: "parallel" }, parallel)),
    card("Scatter", h("div", { class: "filters" }, axisPicker("x", keys, x), axisPicker("y", keys, y)), h("div", { id: "scatter" }, scatter)),
    card("Each metric", h("div", { class: "grid" }, bars))];
}
