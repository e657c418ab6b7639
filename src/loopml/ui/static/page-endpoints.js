// Endpoints: the list, and an endpoint's variants with their live figures, traffic weights, and latency,
// throughput and errors over time (the datapoints the scheduler samples).
import { api, enc, everything } from "./api.js";
import { chart } from "./charts.js";
import { adopt, badge, card, dl, fmt, h, link, note, num, short, when } from "./dom.js";
import { hrefWith, listView } from "./list.js";

const WINDOWS = { "1h": 3600, "24h": 86400, "7d": 604800, "30d": 2592000 };

export function modelLink(ref) {
  const match = /^([A-Za-z0-9_.-]+):(\d+)$/.exec(ref || "");
  return match ? link(`#/models/${enc(match[1])}/${match[2]}`, ref) : (ref || "–");
}

export async function endpointsPage() {
  const list = await listView({ id: "endpoints", all: () => everything("/endpoints"), defaultSort: "name",
    filters: [{ key: "name", label: "name", value: (e) => e.name }, { key: "status", label: "status", value: (e) => e.status }],
    columns: [
      { key: "name", label: "endpoint", value: (e) => e.name, cell: (e) => link(`#/endpoints/${enc(e.name)}`, e.name) },
      { key: "mode", label: "mode", value: (e) => e.mode, cell: (e) => e.mode },
      { key: "models", label: "serving", cell: (e) => (e.models || []).map((m, i) => [i ? ", " : "", modelLink(m)]) },
      { key: "status", label: "status", value: (e) => e.status, cell: (e) => badge(e.status) },
      { key: "updated", label: "updated", value: (e) => e.updated_at, cell: (e) => when(e.updated_at) },
    ] });
  return [h("h1", {}, "Endpoints"), card(null, list)];
}

function variantsTable(ep) {
  const live = Object.fromEntries(((ep.live || {}).variants || []).map((v) => [v.name, v]));
  const variants = (ep.config || {}).variants || [];
  return h("div", { class: "table-scroll" }, h("table", { class: "list", id: "variants" },
    h("thead", {}, h("tr", {}, ["variant", "model", "digest", "weight", "replicas", "requests", "4xx", "5xx", "p50", "p99", "cold starts"].map((c) => h("th", {}, c)))),
    h("tbody", {}, variants.map((v) => {
      const f = live[v.name] || {};
      const ms = (x) => (x === null || x === undefined ? "–" : `${num(x)} ms`);
      return h("tr", { "data-variant": v.name }, h("td", {}, v.name, v.shadow ? " (shadow)" : ""), h("td", {}, modelLink(v.model)),
        h("td", {}, short(v.digest)), h("td", { class: "num" }, num(v.weight)), h("td", { class: "num" }, num(f.replicas)),
        h("td", { class: "num" }, num(f.requests)), h("td", { class: "num" }, num(f.errors_4xx)), h("td", { class: "num" }, num(f.errors_5xx)),
        h("td", { class: "num" }, ms(f.p50_ms)), h("td", { class: "num" }, ms(f.p99_ms)),
        h("td", {}, (f.cold_starts_s || []).length ? (f.cold_starts_s || []).map((x) => `${num(x)} s`).join(", ") : "–"));
    }))));
}

function overTime(series, window) {
  const has = (k) => (series[k] || []).some((p) => p[1] !== null);
  const line = (title, names, unit, label) => (names.some(has) ? chart({ kind: "line", title, x_time: true, y_unit: unit, x_label: "time (UTC)", y_label: label,
    width: 520, height: 180, series: names.filter(has).map((k) => ({ name: k, points: series[k] })) }) : note(`No ${title} in the last ${window}.`));
  const errorPct = { error_rate: (series.error_rate || []).map(([t, v]) => [t, v === null ? null : v * 100]) };
  return h("div", { class: "grid", id: "over-time" },
    h("div", {}, h("h3", {}, "Latency"), line("latency", ["p50_latency_ms", "p99_latency_ms"], "ms", "milliseconds")),
    h("div", {}, h("h3", {}, "Throughput"), line("throughput", ["invocations"], "", "requests per sample")),
    h("div", {}, h("h3", {}, "Errors"), has("error_rate") ? chart({ kind: "line", title: "server errors", x_time: true, y_unit: "%", x_label: "time (UTC)",
      y_label: "5xx share", width: 520, height: 180, series: [{ name: "5xx %", points: errorPct.error_rate }] }) : note(`No errors figure in the last ${window}.`)));
}

export async function endpointPage(name, query) {
  const window = WINDOWS[query.get("window")] ? query.get("window") : "24h";
  const since = new Date(Date.now() - WINDOWS[window] * 1000).toISOString();
  const metrics = ["invocations", "error_rate", "p50_latency_ms", "p99_latency_ms"].map((m) => `metric=${m}`).join("&");
  const [ep, points, replays, advice] = await Promise.all([api(`/endpoints/${enc(name)}`),
    api(`/datapoints?source=${enc(`endpoint:${name}`)}&${metrics}&since=${enc(since)}`),
    api(`/endpoints/${enc(name)}/replays/view`), api(`/endpoints/${enc(name)}/advice/view`)]);
  const variants = (ep.config || {}).variants || [];
  const running = ep.live && ep.live.variants;
  const windows = h("nav", { class: "filters", "aria-label": "time window" }, "window: ",
    Object.keys(WINDOWS).map((w) => (w === window ? h("strong", {}, w) : link(hrefWith({ window: w }), w))));
  return [h("h1", {}, `Endpoint ${ep.name} `, badge(ep.status)),
    h("p", { class: "crumbs" }, link("#/endpoints", "Endpoints"), " › ", ep.name),
    card("Endpoint", dl([["mode", ep.mode], ["address", ep.runtime && ep.runtime.url], ["created by", ep.created_by],
      ["updated", when(ep.updated_at)], ["in flight", running ? num(ep.live.in_flight) : null],
      ["deployment", ep.deployment && ep.deployment.status ? fmt(ep.deployment) : null]])),
    card("Variants", running ? null : note("Not running: the live figures appear while it serves."), variantsTable(ep),
      h("h3", {}, "Traffic weights"), chart({ kind: "bars", title: "traffic weights", each_color: true, width: 520,
        items: variants.map((v) => ({ label: `${v.name}${v.shadow ? " (shadow)" : ""}`, value: v.weight || 0 })) })),
    card("Over time", windows, overTime(points.series, window)),
    card("Replays of captured traffic", h("div", { id: "replays" }, adopt(replays.html))),
    card("Serving mode from data (last 7 days)", h("div", { id: "advice" }, adopt(advice.html))),
    card("Events", h("div", { class: "table-scroll" }, h("table", { class: "list" },
      h("thead", {}, h("tr", {}, h("th", {}, "when"), h("th", {}, "what"), h("th", {}, "details"))),
      h("tbody", {}, (ep.events || []).length ? ep.events.map((e) => h("tr", {}, h("td", {}, when(e.at)), h("td", {}, e.kind), h("td", { class: "wrap" }, h("span", { class: "details" }, fmt(e.details)))))
        : h("tr", {}, h("td", { colspan: 3, class: "empty" }, "No event yet: deployments, rollbacks and scaling show here."))))))];
}
