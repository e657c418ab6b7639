// The audit log: every state change, with filters, pages in both directions, and readable details.
import { api, enc } from "./api.js";
import { chart } from "./charts.js";
import { card, fmt, h, link, when } from "./dom.js";
import { listView } from "./list.js";

// The page of the object an audit resource names, when the UI has one.
export function resourceLink(resource) {
  const [kind, rest] = [resource.split(":")[0], resource.slice(resource.indexOf(":") + 1)];
  const pages = {
    model: () => (rest.includes("/") ? `#/models/${rest.split("/").map(enc).join("/")}` : `#/models/${enc(rest)}`),
    run: () => `#/runs/${enc(rest)}`, execution: () => `#/executions/${enc(rest)}`, endpoint: () => `#/endpoints/${enc(rest)}`,
    alarm: () => `#/monitoring/alarms/${enc(rest)}`, dataset: () => `#/data/datasets/${rest.split("@").map(enc).join("/")}`,
  };
  return pages[kind] && rest ? link(pages[kind](), resource) : resource;
}

export async function auditPage() {
  let counts = null;
  const list = await listView({ id: "audit", pageSize: 50, defaultSort: "-seq",
    page: ({ limit, offset, sort, filters }) => api(`/audit?limit=${limit}&offset=${offset}&order=${sort === "seq" ? "oldest" : "newest"}`
      + ["action", "actor", "resource"].map((k) => (filters[k] ? `&${k}=${enc(filters[k])}` : "")).join("")),
    filters: [{ key: "action", label: "action", placeholder: "model." }, { key: "actor", label: "actor" }, { key: "resource", label: "resource", placeholder: "model:churn" }],
    columns: [
      { key: "seq", label: "#", sort: "seq", numeric: true, cell: (e) => String(e.seq) },
      { key: "ts", label: "when", cell: (e) => when(e.ts) },
      { key: "actor", label: "actor", cell: (e) => link(`#/audit?audit.f.actor=${enc(e.actor)}`, e.actor) },
      { key: "action", label: "action", cell: (e) => e.action },
      { key: "resource", label: "resource", cell: (e) => resourceLink(e.resource || "") },
      { key: "details", wrap: true, label: "details", cell: (e) => h("span", { class: "details" }, fmt(e.details)) },
    ],
    onRows: (rows) => {
      const byAction = {};
      rows.forEach((e) => { byAction[e.action] = (byAction[e.action] || 0) + 1; });
      counts = chart({ kind: "bars", title: "events on this page by action", each_color: true, width: 720,
        items: Object.entries(byAction).sort((a, b) => b[1] - a[1]).map(([label, value]) => ({ label, value })) });
    } });
  return [h("h1", {}, "Audit log"), card(null, list), card("Events on this page by action", counts)];
}
