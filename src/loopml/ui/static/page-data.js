// Data: the dataset catalog (a dataset's versions and schema) and the feature groups (definition, what was
// ingested and materialized).
import { api, enc, everything } from "./api.js";
import { card, dl, fmt, h, link, note, num, short, when } from "./dom.js";
import { listView } from "./list.js";

export async function dataPage() {
  const datasets = await listView({ id: "datasets", all: () => everything("/datasets"), defaultSort: "name",
    filters: [{ key: "name", label: "name", value: (d) => d.name }],
    columns: [
      { key: "name", label: "dataset", value: (d) => d.name, cell: (d) => link(`#/data/datasets/${enc(d.name)}/${d.version}`, d.name) },
      { key: "version", label: "latest version", numeric: true, value: (d) => d.version, cell: (d) => num(d.version) },
      { key: "rows", label: "rows", numeric: true, value: (d) => d.rows, cell: (d) => num(d.rows) },
      { key: "columns", label: "columns", numeric: true, value: (d) => (d.schema || []).length, cell: (d) => num((d.schema || []).length) },
      { key: "sha256", label: "digest", cell: (d) => short(d.sha256) },
      { key: "by", label: "registered by", value: (d) => d.created_by, cell: (d) => d.created_by },
      { key: "at", label: "registered", value: (d) => d.created_at, cell: (d) => when(d.created_at) },
    ] });
  const groups = await listView({ id: "features", all: () => everything("/feature-groups"), defaultSort: "name",
    filters: [{ key: "name", label: "name", value: (g) => g.name }],
    columns: [
      { key: "name", label: "feature group", value: (g) => g.name, cell: (g) => link(`#/data/feature-groups/${enc(g.name)}`, g.name) },
      { key: "version", label: "version", numeric: true, value: (g) => g.version, cell: (g) => num(g.version) },
      { key: "keys", label: "entity keys", cell: (g) => Object.keys(g.entity_keys || {}).join(", ") },
      { key: "features", wrap: true, label: "features", value: (g) => Object.keys(g.features || {}).length, cell: (g) => Object.keys(g.features || {}).join(", ") || "–" },
      { key: "description", wrap: true, label: "description", cell: (g) => g.description || "–" },
    ] });
  return [h("h1", {}, "Data"), card("Datasets", datasets), card("Feature groups", groups)];
}

function schemaTable(schema) {
  return h("div", { class: "table-scroll" }, h("table", { class: "list", id: "schema" },
    h("thead", {}, h("tr", {}, ["column", "type", "stored as", "missing values", "categories"].map((c) => h("th", {}, c)))),
    h("tbody", {}, (schema || []).map((c) => h("tr", {}, h("th", { scope: "row" }, c.name), h("td", {}, c.logical_type), h("td", {}, c.physical_type),
      h("td", {}, c.nullable ? "yes" : "no"), h("td", {}, (c.categories || []).join(", ") || "–"))))));
}

export async function datasetPage(name, version) {
  const [chosen, versions] = await Promise.all([api(`/datasets/${enc(name)}/versions/${version}`), everything(`/datasets/${enc(name)}/versions`)]);
  const list = await listView({ id: "dsversions", all: async () => versions, defaultSort: "-version",
    columns: [
      { key: "version", label: "version", numeric: true, value: (d) => d.version, cell: (d) => (d.version === chosen.version ? h("strong", {}, String(d.version)) : link(`#/data/datasets/${enc(name)}/${d.version}`, String(d.version))) },
      { key: "rows", label: "rows", numeric: true, value: (d) => d.rows, cell: (d) => num(d.rows) },
      { key: "format", label: "from", value: (d) => d.format, cell: (d) => d.format },
      { key: "description", wrap: true, label: "description", cell: (d) => d.description || "–" },
      { key: "at", label: "registered", value: (d) => d.created_at, cell: (d) => when(d.created_at) },
    ] });
  return [h("h1", {}, `Dataset ${name}@${chosen.version}`), h("p", { class: "crumbs" }, link("#/data", "Data"), " › ", name, " › ", String(chosen.version)),
    card("Version", dl([["rows", num(chosen.rows)], ["size", `${num(chosen.size)} bytes`], ["digest", h("code", {}, chosen.sha256)],
      ["registered", `${when(chosen.created_at)} by ${chosen.created_by}`], ["from", chosen.format], ["description", chosen.description],
      ["query", chosen.sql ? h("code", {}, chosen.sql) : null], ["lineage", chosen.lineage && Object.keys(chosen.lineage).length ? fmt(chosen.lineage) : null]])),
    card("Schema", schemaTable(chosen.schema)), card("Versions", list)];
}

export async function featureGroupPage(name) {
  const g = await api(`/feature-groups/${enc(name)}`);
  const features = Object.entries(g.features || {});
  return [h("h1", {}, `Feature group ${g.name}`), h("p", { class: "crumbs" }, link("#/data", "Data"), " › ", g.name),
    card("Definition", dl([["entity keys", fmt(g.entity_keys)], ["event time", g.event_time], ["time to live", g.ttl_seconds ? `${num(g.ttl_seconds)} s` : "forever"],
      ["description", g.description], ["owner", g.owner], ["version", num(g.version)], ["created", `${when(g.created_at)} by ${g.created_by}`]])),
    card("Stored", dl([["ingests", num(g.ingests)], ["offline rows", num(g.offline_rows)], ["last ingest", when(g.last_ingest_at)],
      ["online watermarks", Object.keys(g.watermarks || {}).length ? Object.entries(g.watermarks).map(([k, v]) => `${k}: ${when(v)}`).join("; ") : "not materialized yet"]])),
    card(`Features (${features.length})`, features.length ? h("table", { class: "list", id: "feature-list" },
      h("thead", {}, h("tr", {}, h("th", {}, "feature"), h("th", {}, "type"))),
      h("tbody", {}, features.map(([k, t]) => h("tr", {}, h("td", {}, k), h("td", {}, t))))) : note("No features."))];
}
