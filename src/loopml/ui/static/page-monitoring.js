// Monitoring: alarms, the rules and the actions they took (the retraining an alarm caused), schedules, and
// executions; a schedule's violations per feature over its windows; an execution's report; an alarm's history.
import { api, enc, everything } from "./api.js";
import { chart } from "./charts.js";
import { adopt, badge, card, dl, dur, fmt, h, link, note, num, when } from "./dom.js";
import { listView } from "./list.js";

const DRIFT = "feature_baseline_drift_";
const COMPARISONS = { GreaterThanThreshold: ">", GreaterThanOrEqualToThreshold: "≥", LessThanThreshold: "<", LessThanOrEqualToThreshold: "≤" };
const epoch = (iso) => new Date(iso).getTime() / 1000;

// A rule's pattern as words: "detail-type is Alarm State Change and detail.state is ALARM".
export function patternText(pattern, prefix = "") {
  return Object.entries(pattern || {}).map(([k, v]) => (v && typeof v === "object" && !Array.isArray(v)
    ? patternText(v, `${prefix}${k}.`) : `${prefix}${k} is ${[].concat(v).map(fmt).join(" or ")}`)).join(" and ");
}

export function actionText(action) {
  const { type, ...rest } = action || {};
  const details = Object.entries(rest).map(([k, v]) => `${k} ${fmt(v)}`).join(", ");
  return `${type || "?"}${details ? ` (${details})` : ""}`;
}

function driftChart(executions) {
  const byFeature = {};
  for (const ex of executions.slice().sort((a, b) => epoch(a.window_end) - epoch(b.window_end))) {
    for (const [k, v] of Object.entries(ex.metrics || {})) {
      if (typeof v === "number" && k.startsWith(DRIFT)) (byFeature[k.slice(DRIFT.length)] ||= []).push([epoch(ex.window_end), v]);
    }
  }
  const series = Object.entries(byFeature).sort(([a], [b]) => a.localeCompare(b)).map(([name, points]) => ({ name, points }));
  return series.length ? chart({ kind: "line", title: "drift per feature", x_time: true, x_label: "window end (UTC)", y_label: "distance from the baseline", series, width: 560 })
    : note("No drift figures yet.");
}

function executionColumns() {
  return [
    { key: "window", label: "window end", value: (x) => x.window_end, cell: (x) => link(`#/monitoring/executions/${enc(x.id)}`, when(x.window_end)) },
    { key: "schedule", label: "schedule", value: (x) => x.schedule, cell: (x) => (x.schedule ? link(`#/monitoring/schedules/${enc(x.schedule)}`, x.schedule) : "–") },
    { key: "endpoint", label: "endpoint", value: (x) => x.endpoint, cell: (x) => link(`#/endpoints/${enc(x.endpoint)}`, x.endpoint) },
    { key: "type", label: "type", value: (x) => x.monitor_type, cell: (x) => x.monitor_type },
    { key: "status", label: "status", value: (x) => x.status, cell: (x) => badge(x.status) },
    { key: "violations", label: "violations", numeric: true, value: (x) => x.violations, cell: (x) => num(x.violations) },
    { key: "undecodable", label: "undecodable", numeric: true, value: (x) => (x.metrics || {}).undecodable_records || 0,
      cell: (x) => num((x.metrics || {}).undecodable_records || 0) },
  ];
}

async function rulesWithActions() {
  const { items } = await everything("/rules");  // each rule with the actions it defines
  const detailed = await Promise.all(items.map((r) => api(`/rules/${enc(r.name)}`)));  // ... and those it took
  return { items: items.map((r, i) => ({ ...r, taken: detailed[i].actions || [] })), capped: false };
}

export async function monitoringPage() {
  const executions = await everything("/monitoring/executions");
  const alarms = await listView({ id: "alarms", all: () => everything("/alarms"), defaultSort: "name", pageSize: 10,
    filters: [{ key: "state", label: "state", options: ["ALARM", "OK", "INSUFFICIENT_DATA"], value: (a) => a.state }],
    columns: [
      { key: "name", label: "alarm", value: (a) => a.name, cell: (a) => link(`#/monitoring/alarms/${enc(a.name)}`, a.name) },
      { key: "watches", label: "watches", value: (a) => `${a.source} ${a.metric}`, cell: (a) => `${a.metric} of ${a.source}` },
      { key: "state", label: "state", value: (a) => a.state, cell: (a) => badge(a.state) },
      { key: "reason", wrap: true, label: "reason", cell: (a) => a.state_reason },
      { key: "since", label: "since", value: (a) => a.state_updated_at, cell: (a) => when(a.state_updated_at) },
    ] });
  const rules = await listView({ id: "rules", all: rulesWithActions, defaultSort: "name", pageSize: 10,
    columns: [
      { key: "name", label: "rule", value: (r) => r.name, cell: (r) => r.name },
      { key: "when", wrap: true, label: "when", cell: (r) => patternText(r.pattern) },
      { key: "then", wrap: true, label: "then", cell: (r) => (r.actions || []).map(actionText).join("; ") },
      { key: "taken", label: "actions taken", numeric: true, value: (r) => r.taken.length, cell: (r) => num(r.taken.length) },
      { key: "latest", wrap: true, label: "latest action", cell: (r) => {
        const a = r.taken[0];
        return a ? h("span", {}, badge(a.status), ` ${a.kind} at ${when(a.created_at)} `, h("span", { class: "muted" }, fmt(a.result))) : "–";
      } },
    ] });
  const schedules = await listView({ id: "schedules", all: () => everything("/monitoring/schedules"), defaultSort: "name", pageSize: 10,
    columns: [
      { key: "name", label: "schedule", value: (x) => x.name, cell: (x) => link(`#/monitoring/schedules/${enc(x.name)}`, x.name) },
      { key: "kind", label: "kind", value: (x) => x.kind, cell: (x) => x.kind },
      { key: "watches", label: "watches", cell: (x) => (x.config.endpoint ? link(`#/endpoints/${enc(x.config.endpoint)}`, x.config.endpoint) : x.config.pipeline || "–") },
      { key: "every", label: "every", cell: (x) => x.cron || (x.interval_seconds ? dur(x.interval_seconds) : "–") },
      { key: "enabled", label: "enabled", value: (x) => String(x.enabled), cell: (x) => (x.enabled ? "yes" : "no") },
    ] });
  const list = await listView({ id: "mex", all: async () => ({ items: executions.items, capped: executions.capped }), defaultSort: "-window",
    filters: [{ key: "schedule", label: "schedule", value: (x) => x.schedule }, { key: "status", label: "status", value: (x) => x.status }],
    columns: executionColumns() });
  return [h("h1", {}, "Monitoring"),
    h("div", { class: "grid" }, card("Drift per feature over time", h("div", { id: "drift" }, driftChart(executions.items))),
      card("Violations per window", chart({ kind: "bars", title: "violations per window", width: 520,
        items: executions.items.slice(0, 12).map((x) => ({ label: `${x.schedule || x.endpoint} ${when(x.window_end).slice(5, 16)}`, value: x.violations || 0,
          color: x.violations ? "#dc2626" : "#16a34a", href: `#/monitoring/executions/${x.id}` })) }))),
    card("Alarms", alarms), card("Rules and the actions they took (e.g. retraining)", rules), card("Schedules", schedules),
    card("Monitoring executions", list)];
}

function violationMatrix(history) {
  const windows = history.executions;
  const names = Object.keys(history.features);
  if (!names.length) return note("No violation in these windows.");
  const byWindow = Object.fromEntries(names.map((n) => [n, Object.fromEntries(history.features[n].map((x) => [x.execution, x.checks]))]));
  return h("div", { class: "table-scroll" }, h("table", { class: "list matrix", id: "violations" },
    h("thead", {}, h("tr", {}, h("th", {}, "feature"), windows.map((w) => h("th", {}, link(`#/monitoring/executions/${enc(w.id)}`, when(w.window_end).slice(5, 16)))), h("th", {}, "windows violated"))),
    h("tbody", {}, names.map((n) => h("tr", {}, h("th", { scope: "row" }, n), windows.map((w) => {
      const checks = byWindow[n][w.id];
      return checks ? h("td", { class: "bad", title: checks.map((c) => `${c.check}: ${c.description}`).join("\n") }, checks.map((c) => c.check.replace(/_check$/, "")).join(", "))
        : h("td", { class: "good" }, "ok");
    }), h("td", { class: "num" }, `${history.features[n].length} of ${windows.length}`))))));
}

export async function schedulePage(name) {
  const [schedule, history] = await Promise.all([api(`/monitoring/schedules/${enc(name)}`), api(`/monitoring/schedules/${enc(name)}/violations`)]);
  const drift = Object.entries(history.drift).map(([feature, points]) => ({ name: feature, points: points.map(([t, v]) => [epoch(t), v]) }));
  const config = schedule.config || {};
  return [h("h1", {}, `Schedule ${schedule.name}`), h("p", { class: "crumbs" }, link("#/monitoring", "Monitoring"), " › ", schedule.name),
    card("Schedule", dl([["kind", schedule.kind], ["watches", config.endpoint ? link(`#/endpoints/${enc(config.endpoint)}`, config.endpoint) : config.pipeline],
      ["monitor", config.monitor_type], ["every", schedule.cron || (schedule.interval_seconds ? dur(schedule.interval_seconds) : null)],
      ["window", config.window_seconds ? dur(config.window_seconds) : null], ["enabled", schedule.enabled ? "yes" : "no"],
      ["created", `${when(schedule.created_at)} by ${schedule.created_by}`]])),
    card("Violations per feature, window by window", violationMatrix(history)),
    card("Drift per feature over time", drift.length ? chart({ kind: "line", title: "drift per feature", x_time: true, x_label: "window end (UTC)",
      y_label: "distance from the baseline", series: drift, width: 720 }) : note("No drift figures yet."))];
}

export async function monitoringExecutionPage(id) {
  const [ex, view] = await Promise.all([api(`/monitoring/executions/${enc(id)}`), api(`/monitoring/executions/${enc(id)}/view`)]);
  return [h("h1", {}, `Monitoring execution `, badge(ex.status)),
    h("p", { class: "crumbs" }, link("#/monitoring", "Monitoring"), " › ",
      ex.schedule ? [link(`#/monitoring/schedules/${enc(ex.schedule)}`, ex.schedule), " › "] : null, ex.id),
    card(null, h("div", { id: "monitoring-report" }, adopt(view.html)))];
}

export async function alarmPage(name) {
  const alarm = await api(`/alarms/${enc(name)}`);
  const points = await api(`/datapoints?source=${enc(alarm.source)}&metric=${enc(alarm.metric)}`);
  const series = points.series[alarm.metric] || [];
  const source = alarm.source.startsWith("endpoint:") ? link(`#/endpoints/${enc(alarm.source.slice(9))}`, alarm.source)
    : alarm.source.startsWith("schedule:") ? link(`#/monitoring/schedules/${enc(alarm.source.slice(9))}`, alarm.source) : alarm.source;
  return [h("h1", {}, `Alarm ${alarm.name} `, badge(alarm.state)), h("p", { class: "crumbs" }, link("#/monitoring", "Monitoring"), " › ", alarm.name),
    card("Alarm", dl([["watches", h("span", {}, `${alarm.metric} of `, source)],
      ["breaches when", `the ${String(alarm.statistic).toLowerCase()} of a period ${COMPARISONS[alarm.comparison] || alarm.comparison} ${num(alarm.threshold)}`],
      ["fires after", `${alarm.datapoints_to_alarm ?? "?"} breaching of the last ${alarm.evaluation_periods ?? "?"} periods of ${dur(alarm.period_seconds)}`],
      ["reason", alarm.state_reason], ["since", when(alarm.state_updated_at)]])),
    card(`${alarm.metric} over time`, series.length ? chart({ kind: "line", title: alarm.metric, x_time: true, x_label: "time (UTC)", y_label: alarm.metric, width: 720,
      series: [{ name: alarm.metric, points: series }, { name: `threshold ${num(alarm.threshold)}`, points: [[series[0][0], alarm.threshold], [series[series.length - 1][0], alarm.threshold]] }] })
      : note("No datapoint yet.")),
    card("State history", h("div", { class: "table-scroll" }, h("table", { class: "list" },
      h("thead", {}, h("tr", {}, ["from", "to", "at", "reason"].map((c) => h("th", {}, c)))),
      h("tbody", {}, (alarm.history || []).map((x) => h("tr", {}, h("td", {}, badge(x.old_state)), h("td", {}, badge(x.new_state)), h("td", {}, when(x.at)), h("td", {}, x.reason)))))))];
}

