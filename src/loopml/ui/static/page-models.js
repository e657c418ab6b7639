// The model registry: groups, a group's versions and aliases, a version with its evaluation report where the
// approver decides (approve, reject, reopen — each confirmed with a note), its tags, deployments, artifacts,
// and its lineage.
import { api, enc, everything } from "./api.js";
import { artifactBrowser } from "./artifacts.js";
import { chart } from "./charts.js";
import { confirmWithNote, formDialog } from "./dialog.js";
import { adopt, badge, card, errorBox, h, link, note, num, when } from "./dom.js";
import { listView } from "./list.js";
import { canApprove, canWrite } from "./session.js";

const STATUSES = ["PendingManualApproval", "Approved", "Rejected"];
const versionLink = (group, version) => link(`#/models/${enc(group)}/${version}`, `${group}:${version}`);

function aliasLinks(group, aliases) {
  const entries = Object.entries(aliases || {});
  return entries.length ? entries.map(([a, v], i) => [i ? ", " : "", link(`#/models/${enc(group)}/${v}`, `@${a} → ${v}`)]) : "–";
}

export async function modelsPage() {
  const groups = await listView({ id: "groups", all: () => everything("/models"), defaultSort: "name",
    filters: [{ key: "name", label: "name", value: (g) => g.name }],
    columns: [
      { key: "name", label: "group", value: (g) => g.name, cell: (g) => link(`#/models/${enc(g.name)}`, g.name) },
      { key: "latest", label: "latest", value: (g) => g.latest_version, numeric: true, cell: (g) => (g.latest_version ? versionLink(g.name, g.latest_version) : "–") },
      { key: "approved", label: "approved", numeric: true, value: (g) => g.counts.Approved || 0, cell: (g) => num(g.counts.Approved || 0) },
      { key: "pending", label: "pending", numeric: true, value: (g) => g.counts.PendingManualApproval || 0, cell: (g) => num(g.counts.PendingManualApproval || 0) },
      { key: "rejected", label: "rejected", numeric: true, value: (g) => g.counts.Rejected || 0, cell: (g) => num(g.counts.Rejected || 0) },
      { key: "aliases", label: "aliases", cell: (g) => aliasLinks(g.name, g.aliases) },
      { key: "by", label: "created by", value: (g) => g.created_by, cell: (g) => g.created_by },
    ] });
  const pending = await listView({ id: "pending", pageSize: 10,
    page: ({ limit, offset }) => api(`/versions?status=PendingManualApproval&limit=${limit}&offset=${offset}`),
    empty: "Nothing waits for approval.",
    columns: [
      { key: "version", label: "version", cell: (v) => versionLink(v.group, v.version) },
      { key: "description", wrap: true, label: "description", cell: (v) => v.description || "–" },
      { key: "evaluation", label: "evaluation", cell: (v) => (v.evaluation_digest ? "attached" : h("span", { class: "warn-text" }, "none")) },
      { key: "by", label: "registered by", cell: (v) => v.created_by },
      { key: "at", label: "registered", cell: (v) => when(v.created_at) },
    ] });
  return [h("h1", {}, "Models"), card("Model groups", groups), card("Waiting for approval", pending)];
}

async function aliasCard(group, info, versions) {
  const out = h("div", { id: "alias-result" });
  const rows = Object.entries(info.aliases || {}).map(([alias, v]) => h("tr", {}, h("td", {}, `@${alias}`), h("td", {}, versionLink(group, v)),
    h("td", {}, canApprove() ? h("button", { class: "remove-alias", "data-alias": alias, onclick: async () => {
      try { await api(`/models/${enc(group)}/aliases/${enc(alias)}`, { method: "DELETE" }); window.dispatchEvent(new HashChangeEvent("hashchange")); } catch (err) { out.replaceChildren(errorBox(err)); }
    } }, "Remove") : "")));
  const approved = versions.filter((v) => v.status === "Approved").map((v) => v.version);
  const set = async (event) => {
    event.preventDefault();
    const alias = event.target.elements.alias.value.trim();
    const version = Number(event.target.elements.version.value);
    try {
      await api(`/models/${enc(group)}/aliases/${enc(alias)}`, { method: "PUT", body: { version, expected: info.aliases?.[alias] ?? null } });
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    } catch (err) { out.replaceChildren(errorBox(err)); }
  };
  const form = canApprove() && approved.length ? h("form", { class: "filters", id: "alias-form", onsubmit: set },
    h("label", {}, "alias ", h("input", { name: "alias", required: true, pattern: "[A-Za-z0-9][A-Za-z0-9_.\\-]*", placeholder: "production", size: 12 })),
    h("label", {}, "version ", h("select", { name: "version" }, approved.map((v) => h("option", { value: v }, String(v))))),
    h("button", { type: "submit" }, "Point alias")) : note("Approvers point aliases at Approved versions.");
  return card("Aliases", rows.length ? h("table", { class: "list" }, h("tbody", {}, rows)) : note("No alias yet."), form, out);
}

export async function groupPage(group) {
  const [info, all] = await Promise.all([api(`/models/${enc(group)}`), everything(`/models/${enc(group)}/versions`)]);
  const versions = all.items;
  const metrics = [...new Set(versions.flatMap((v) => Object.keys(v.metrics || {})))].filter((m) => versions.some((v) => typeof v.metrics[m] === "number")).sort();
  const list = await listView({ id: "versions", all: async () => all, defaultSort: "-version",
    filters: [{ key: "status", label: "status", options: STATUSES, value: (v) => v.status }],
    columns: [
      { key: "version", label: "version", numeric: true, value: (v) => v.version, cell: (v) => versionLink(group, v.version) },
      { key: "status", label: "status", value: (v) => v.status, cell: (v) => badge(v.status) },
      { key: "flavor", label: "flavor", optional: true, value: (v) => v.flavor, cell: (v) => v.flavor },
      ...metrics.map((m, i) => ({ key: `m.${m}`, label: m, optional: true, hidden: i >= 4, numeric: true, value: (v) => v.metrics[m], cell: (v) => num(v.metrics[m]) })),
      { key: "tags", label: "tags", optional: true, cell: (v) => Object.entries(v.tags || {}).map(([k, x]) => `${k}=${x}`).join(", ") || "–" },
      { key: "by", label: "registered by", optional: true, value: (v) => v.created_by, cell: (v) => v.created_by },
      { key: "at", label: "registered", optional: true, value: (v) => v.created_at, cell: (v) => when(v.created_at) },
    ] });
  const series = metrics.map((m) => ({ name: m, points: versions.filter((v) => typeof v.metrics[m] === "number").map((v) => [v.version, v.metrics[m]]).reverse() }));
  return [h("h1", {}, `Model group ${group}`), h("p", { class: "crumbs" }, link("#/models", "Models"), " › ", group),
    card("Versions", list),
    card("Metrics by version", series.length ? chart({ kind: "line", title: "metrics by version", x_label: "version", y_label: "value", series, width: 720 }) : note("No numeric metric yet.")),
    await aliasCard(group, info, versions)];
}

// -- a version: where the approver decides -------------------------------------------------------------
async function evaluationOf(group, version) {
  try {
    return await api(`/models/${enc(group)}/versions/${version}/evaluation`);
  } catch (err) {
    if (err.status === 404) return null;
    return { error: err };
  }
}

function verdictLine(evaluation) {
  if (!evaluation) return h("span", { class: "warn-text" }, "No evaluation report: no gate verdict, no comparison with the champion.");
  if (evaluation.error) return h("span", { class: "warn-text" }, `The evaluation report cannot be shown: ${evaluation.error.message}`);
  const verdict = evaluation.passed === null ? "no gate" : evaluation.passed ? "gate PASSED" : "gate FAILED";
  return `${verdict}${evaluation.champion ? ` against the champion ${evaluation.champion}` : ", no champion to compare with"}.`;
}

async function decide(group, version, verb, v, evaluation, out) {
  const titles = { approve: "Approve", reject: "Reject", reopen: "Reopen" };
  const summary = [h("p", {}, h("strong", {}, `${group}:${version}`), ` (${v.status}) — `, verdictLine(evaluation)),
    verb === "approve" ? h("p", { class: "muted" }, "Approval is bound to these bytes: ", h("code", {}, v.digest)) : null];
  const text = await confirmWithNote({ title: `${titles[verb]} ${group}:${version}?`, summary, action: titles[verb], danger: verb === "reject" });
  if (text === null) return;
  try {
    await api(`/models/${enc(group)}/versions/${version}/${verb}`, { method: "POST", body: { note: text } });
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } catch (err) { out.replaceChildren(errorBox(err)); }
}

function decisions(group, version, v, evaluation, out) {
  if (!canApprove()) return null;
  const button = (verb, label, cls) => h("button", { id: verb, class: cls, onclick: () => decide(group, version, verb, v, evaluation, out) }, label);
  return h("div", { class: "actions decision" },
    v.status === "PendingManualApproval" ? [button("approve", "Approve…", "primary"), button("reject", "Reject…", "danger")] : null,
    v.status === "Approved" ? button("reject", "Reject…", "danger") : null,
    v.status === "Rejected" ? button("reopen", "Reopen for review…", "primary") : null);
}

function tagEditor(group, version, v) {
  const out = h("div", { id: "tag-result" });
  const refresh = () => window.dispatchEvent(new HashChangeEvent("hashchange"));
  const call = async (path, init) => { try { await api(path, init); refresh(); } catch (err) { out.replaceChildren(errorBox(err)); } };
  const base = `/models/${enc(group)}/versions/${version}/tags`;
  const rows = Object.entries(v.tags || {}).map(([k, x]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, x),
    h("td", {}, canWrite() ? h("button", { class: "remove-tag", "data-tag": k, onclick: () => call(`${base}/${enc(k)}`, { method: "DELETE" }) }, "Remove") : "")));
  const add = async () => {
    const values = await formDialog({ title: `Tag ${group}:${version}`, action: "Save", fields: [
      { name: "key", label: "name", required: true, placeholder: "team" }, { name: "value", label: "value", placeholder: "growth" }] });
    if (values) await call(`${base}/${enc(values.key)}`, { method: "PUT", body: { value: values.value } });
  };
  return card("Tags", rows.length ? h("table", { class: "list", id: "tags" }, h("tbody", {}, rows)) : note("No tag yet."),
    canWrite() ? h("button", { id: "add-tag", onclick: add }, "Add or change a tag…") : null, out);
}

async function deployments(group, version) {
  const { items } = await everything("/endpoints");
  const here = items.filter((e) => (e.models || []).includes(`${group}:${version}`));
  return here.length ? h("ul", {}, here.map((e) => h("li", {}, link(`#/endpoints/${enc(e.name)}`, e.name), " ", badge(e.status), ` ${e.mode}`)))
    : note("Not deployed on any endpoint.");
}

export async function versionPage(group, version, query) {
  const base = `/models/${enc(group)}/versions/${version}`;
  const [v, view, evaluation, reproduction, replays] = await Promise.all([api(base), api(`${base}/view`), evaluationOf(group, version),
    api(`${base}/reproduction/view`), api(`${base}/replays/view`)]);
  const out = h("div", { id: "decision-result" });
  const report = evaluation && !evaluation.error ? h("div", { id: "evaluation" }, adopt(evaluation.html))
    : h("div", { class: "warn", id: "no-evaluation", role: "note" }, verdictLine(evaluation), " Decide on the metrics and the card alone, or ask for an evaluation.");
  return [h("h1", {}, `${group}:${version} `, badge(v.status)),
    h("p", { class: "crumbs" }, link("#/models", "Models"), " › ", link(`#/models/${enc(group)}`, group), " › ", String(version),
      " · ", link(`#/lineage/${enc(group)}/${version}`, "lineage")),
    h("div", { class: "verdict" }, verdictLine(evaluation)), decisions(group, version, v, evaluation, out), out,
    card("Evaluation report", report),
    card("Version", h("div", { id: "version-view" }, adopt(view.html))),
    card("Reproducibility", h("div", { id: "reproduction" }, adopt(reproduction.html))),
    card("Replays of production traffic", h("div", { id: "replays" }, adopt(replays.html))),
    h("div", { class: "grid" }, tagEditor(group, version, v), card("Deployed on", await deployments(group, version))),
    card("Artifacts", h("div", { id: "artifacts" }, await artifactBrowser(base, query)))];
}

export async function lineagePage(group, version) {
  const view = await api(`/models/${enc(group)}/versions/${version}/lineage/view`);
  return [h("h1", {}, `Lineage of ${group}:${version}`),
    h("p", { class: "crumbs" }, link("#/models", "Models"), " › ", link(`#/models/${enc(group)}`, group), " › ", versionLink(group, version), " › lineage"),
    card(null, h("div", { id: "lineage" }, adopt(view.html)))];
}
