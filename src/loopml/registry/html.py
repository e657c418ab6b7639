"""The HTML of a model version and of its lineage, for notebooks and the web UI."""

from __future__ import annotations

import json
from typing import Any

from loopml.core import charts, context
from loopml.core import fragments as f
from loopml.registry._records import ModelVersion

LINEAGE_FILL = {"data": "#fef3c7", "code": "#f3e8ff", "execution": "#dcfce7", "run": "#dcfce7",
                "model": "#dbeafe", "approval": "#bbf7d0"}


def _datasets(items: list[dict[str, Any]], links: f.Links) -> str:
    return ", ".join(f.a(links("dataset", f"{d.get('name')}/{d.get('version')}"), f"{d.get('name')}@{d.get('version')}")
                     for d in items if isinstance(d, dict) and d.get("name"))


def _gate(digest: str | None) -> str:
    """The gate's verdict stored with the evaluation report, in one line."""
    if not digest:
        return "<span class='warn'>no evaluation report attached</span>"
    try:
        report = json.loads(context.get_artifacts().get_bytes(digest))
    except (ValueError, UnicodeDecodeError):
        return f.short(digest)
    gate = report.get("gate") if isinstance(report, dict) else None
    if not gate:
        return f"report {f.short(digest)}, no gate"
    verdict = "<span class='pass'>PASSED</span>" if gate.get("passed") else "<span class='fail'>FAILED</span>"
    champion = report.get("champion")
    return f"gate {verdict} ({len(gate.get('rules') or [])} rules), against {f.value(champion or 'no champion')}"


def _details(mv: ModelVersion, links: f.Links) -> str:
    lineage = mv.lineage or {}
    bound = "" if not mv.approved_digest else (
        "the approved bytes" if mv.approved_digest == mv.digest else f"other bytes: {f.short(mv.approved_digest)}")
    return f.dl([
        ("version", f.a(links("group", mv.group), mv.group) + f":{mv.version}"), ("status", f.status(mv.status)),
        ("approval bound to", f.value(bound) if bound else ""), ("flavor", f.value(mv.flavor)),
        ("digest", f.code(mv.digest)), ("description", f.value(mv.description) if mv.description else ""),
        ("registered", f"{f.when(mv.created_at)} by {f.value(mv.created_by)}"),
        ("decided", f"{f.when(mv.status_changed_at)} by {f.value(mv.status_changed_by)}"
         if mv.status_changed_by else ""),
        ("evaluation", _gate(mv.evaluation_digest)),
        ("run", f.a(links("run", lineage["run_id"]), lineage["run_id"]) if lineage.get("run_id") else ""),
        ("execution", f.a(links("execution", lineage["execution_id"]), lineage["execution_id"])
         if lineage.get("execution_id") else ""),
        ("training data", _datasets(lineage.get("datasets") or [], links)),
        ("tags", f.value(mv.tags) if mv.tags else ""),
        ("lineage", f.a(links("lineage", f"{mv.group}/{mv.version}"), "lineage graph")
         if links("lineage", f"{mv.group}/{mv.version}") else "")])


def _metrics(mv: ModelVersion) -> str:
    numbers = [charts.Bar(k, float(v)) for k, v in sorted(mv.metrics.items())
               if isinstance(v, int | float) and not isinstance(v, bool)]
    return charts.bars(numbers, title="metrics") if numbers else ""


def trail_table(trail: list[dict[str, Any]]) -> str:
    """The approval trail: from, to, who, when, note."""
    rows = [[f.cell(t.get("from") or "–"), f.cell(f.status(t.get("to")), raw=True), f.cell(t.get("actor")),
             f.cell(f.when(t.get("at")), raw=True), f.cell(t.get("note") or "")] for t in trail]
    return f.table(["from", "to", "by", "at", "note"], rows)


def render_version(mv: ModelVersion, *, links: f.Links = f.no_links, trail: list[dict[str, Any]] | None = None) -> str:
    """A model version as an HTML fragment: details, gate verdict, metrics and (given) its approval trail."""
    return _details(mv, links) + f.section("Metrics", _metrics(mv)) + \
        f.section("Approval trail", trail_table(trail) if trail else "")


def lineage_graph(data: dict[str, Any], links: f.Links = f.no_links) -> str:
    """Data and code → pipeline execution → run → model version → approval, as SVG with links."""
    model, execution, run = data["model"], data.get("execution"), data.get("run")
    nodes, edges = [], []
    for i, d in enumerate(data.get("data") or []):
        nodes.append(charts.Node(f"data{i}", f"{d.get('name')}@{d.get('version', '?')}", str(d.get("sha256", ""))[7:19],
                                 LINEAGE_FILL["data"], links("dataset", f"{d.get('name')}/{d.get('version')}")))
    if (data.get("code") or {}).get("commit"):
        commit = str(data["code"]["commit"])[:12] + (" (dirty)" if data["code"].get("dirty") else "")
        nodes.append(charts.Node("code", "code", commit, LINEAGE_FILL["code"]))
    if execution:
        nodes.append(charts.Node("exec", str(execution.get("pipeline") or "execution"), str(execution["id"]),
                                 LINEAGE_FILL["execution"], links("execution", str(execution["id"]))))
    if run:
        nodes.append(charts.Node("run", "training run", str(run), LINEAGE_FILL["run"], links("run", str(run))))
    nodes.append(charts.Node("model", str(model["name"]), str(model["status"]), LINEAGE_FILL["model"],
                             links("version", f"{model['group']}/{model['version']}")))
    producer = "exec" if execution else "run" if run else "model"
    edges += [(n.id, producer) for n in nodes if n.id.startswith("data") or n.id == "code"]
    if execution and run:
        edges.append(("exec", "run"))
    if producer != "model":
        edges.append(("run" if run else producer, "model"))
    approval = data.get("approval") or {}
    if approval.get("by"):
        nodes.append(charts.Node("approval", f"approved by {approval['by']}", str(approval.get("at") or "")[:19],
                                 LINEAGE_FILL["approval"]))
        edges.append(("model", "approval"))
    return charts.graph(nodes, edges, title=f"lineage of {model['name']}")


def render_lineage(data: dict[str, Any], *, links: f.Links = f.no_links) -> str:
    """A version's lineage as an HTML fragment: the graph, then the audit events of the version."""
    rows = [[f.cell(e.get("seq")), f.cell(f.when(e.get("ts")), raw=True), f.cell(e.get("actor")),
             f.cell(e.get("action"))] for e in data.get("events") or []]
    events = f.table(["#", "when", "who", "what"], rows) if rows else ""
    return f'<div class="scroll">{lineage_graph(data, links)}</div>' + f.section("Events", events)
