"""HTML views of what people look at — a run, a pipeline execution, a model version, its evaluation report and
lineage, a monitoring execution — for the web UI.

They are the very renderers behind the objects' ``_repr_html_`` in a notebook (same tables, same charts), with
links to the UI's pages. The UI copies them into the page through an allowlist (no script, no style, links
only to its own pages).
"""

from __future__ import annotations

from html import escape
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from loopml import monitor, pipelines, registry, train
from loopml.api._shapes import Id, Name, Number
from loopml.api.auth import Principal, authorize
from loopml.evaluate.records import report_fragment
from loopml.monitor.html import render_monitoring_execution
from loopml.pipelines.html import render_execution
from loopml.registry.html import render_lineage, render_version
from loopml.train.html import render_run

router = APIRouter(tags=["views"])
Caller = Annotated[Principal, Depends(authorize)]

#: The web UI's address of each kind of object (each ``{}`` takes one part of the key).
UI_PAGES = {
    "run": "#/runs/{}", "execution": "#/executions/{}", "step": "#/executions/{}?step={}", "group": "#/models/{}",
    "version": "#/models/{}/{}", "lineage": "#/lineage/{}/{}", "dataset": "#/data/datasets/{}/{}",
    "feature-group": "#/data/feature-groups/{}", "endpoint": "#/endpoints/{}", "schedule": "#/monitoring/schedules/{}",
    "monitoring-execution": "#/monitoring/executions/{}", "alarm": "#/monitoring/alarms/{}",
}


def ui_links(kind: str, key: str | None) -> str | None:
    """The UI page of an object, or None for kinds the UI has no page for."""
    template = UI_PAGES.get(kind)
    if template is None or not key:
        return None
    parts = key.split("/", template.count("{}") - 1)
    if len(parts) != template.count("{}"):
        return None
    return template.format(*(quote(p, safe="") for p in parts))


class View(BaseModel):
    """An HTML fragment (styled by ``/ui/fragments.css``)."""

    html: str


class Evaluation(View):
    """A version's evaluation report as HTML, with the gate's verdict and the champion it was compared with."""

    digest: str
    passed: bool | None
    champion: str | None


@router.get("/runs/{run_id}/view", response_model=View, summary="A run as HTML: details, metric charts, trials")
def run_view(run_id: Id, caller: Caller) -> View:
    return View(html=render_run(train.get_run(run_id), links=ui_links))


@router.get("/executions/{execution_id}/view", response_model=View, summary="An execution as HTML with its DAG")
def execution_view(execution_id: Id, caller: Caller) -> View:
    return View(html=render_execution(pipelines.get_execution(execution_id), links=ui_links))


@router.get("/models/{group}/versions/{version}/view", response_model=View,
            summary="A model version as HTML: details, gate verdict, metrics, approval trail")
def version_view(group: Name, version: Number, caller: Caller) -> View:
    found = registry.get_version(group, version)
    return View(html=render_version(found, links=ui_links, trail=registry.approval_trail(group, version)))


@router.get("/models/{group}/versions/{version}/evaluation", response_model=Evaluation,
            summary="The evaluation report of a version as HTML (404 when none is attached)")
def evaluation_view(group: Name, version: Number, caller: Caller) -> Evaluation:
    found = registry.get_version(group, version)
    fragment = report_fragment(found.name)
    return Evaluation(digest=str(found.evaluation_digest), **fragment)


@router.get("/models/{group}/versions/{version}/lineage/view", response_model=View,
            summary="The lineage graph of a version as HTML, with its audit events")
def lineage_view(group: Name, version: Number, caller: Caller) -> View:
    return View(html=render_lineage(registry.lineage(group, version), links=ui_links))


@router.get("/models/{group}/versions/{version}/reproduction/view", response_model=View,
            summary="Reproducibility of a version as HTML: the last 'loopml reproduce' verdict and what was recorded")
def reproduction_view(group: Name, version: Number, caller: Caller) -> View:
    from loopml.reproducibility import last_reproduction
    from loopml.reproducibility.html import render_summary

    facts = registry.lineage(group, version)
    return View(html=render_summary(group, version, last_reproduction(group, version), facts.get("environment")))


def _replays_html(resource: str) -> str:
    from loopml.core import fragments as f
    from loopml.evaluate.replay import load_replay, replays
    from loopml.evaluate.replay_html import render_replay_fragment

    found = replays(resource)
    if not found:
        return ("<p class='muted'>No replay yet. <code>loopml evaluate replay ENDPOINT --challenger GROUP:VERSION "
                "--window 7d</code> runs captured traffic through a challenger offline.</p>")
    rows = [[f.cell(f.when(r["at"]), raw=True), f.cell(r.get("challenger")), f.cell(r.get("champion")),
             f.cell(r.get("endpoint")), f.cell(f.status("passed" if r.get("passed") else "failed")
                                               if r.get("passed") is not None else "no gate", raw=True),
             f.cell((r.get("summary") or {}).get("rows")), f.cell(f.short(r.get("json")), raw=True),
             f.cell(f.short(r.get("html")), raw=True)] for r in found]
    table = f.table(["when", "challenger", "champion", "endpoint", "gate", "rows", "JSON", "HTML"], rows, scroll=True)
    return table + f.section("Latest replay", render_replay_fragment(load_replay(found[0]["json"])))


@router.get("/endpoints/{name}/replays/view", response_model=View,
            summary="Replays of an endpoint's captured traffic through challengers, as HTML (newest in full)")
def endpoint_replays_view(name: Name, caller: Caller) -> View:
    return View(html=_replays_html(f"endpoint:{name}"))


@router.get("/endpoints/{name}/advice/view", response_model=View,
            summary="Which serving mode fits the endpoint's recorded traffic (last 7 days), with the reasoning and costs")
def endpoint_advice_view(name: Name, caller: Caller, target_ms: float | None = None) -> View:
    from loopml.errors import ValidationError
    from loopml.monitor.advice import advise
    from loopml.monitor.advice_html import render_advice

    try:
        return View(html=render_advice(advise(name, window="7d", target_ms=target_ms)))
    except ValidationError as exc:
        return View(html=f"<p class='muted'>No advice yet: {escape(str(exc))}</p>")


@router.get("/models/{group}/versions/{version}/replays/view", response_model=View,
            summary="Traffic replays this version took part in (as champion or challenger), as HTML")
def version_replays_view(group: Name, version: Number, caller: Caller) -> View:
    registry.get_version(group, version)
    return View(html=_replays_html(f"model:{group}/{version}"))


@router.get("/monitoring/executions/{execution_id}/view", response_model=View,
            summary="A monitoring execution's report as HTML: violations per feature, figures")
def monitoring_execution_view(execution_id: Id, caller: Caller) -> View:
    found = monitor.get_execution(execution_id)
    violations = monitor.read_report(found, violations=True)
    return View(html=render_monitoring_execution(found, violations, links=ui_links))
