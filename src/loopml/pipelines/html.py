"""The HTML of a pipeline execution, for notebooks and the web UI: details, the DAG (steps coloured by status,
cache hits and durations on the nodes), the steps table and their durations."""

from __future__ import annotations

from loopml.core import charts
from loopml.core import fragments as f
from loopml.pipelines._records import ExecutionInfo, StepInfo

STATUS_FILL = {"SUCCEEDED": "#bbf7d0", "CACHED": "#ddd6fe", "FAILED": "#fecaca", "RUNNING": "#a5f3fc",
               "PENDING": "#fde68a", "SKIPPED": "#e5e7eb"}


def _seconds(step: StepInfo) -> float | None:
    return None if step.duration_ms is None else step.duration_ms / 1000


def dag(info: ExecutionInfo, links: f.Links = f.no_links) -> str:
    """The execution's DAG as SVG; each node links to its step (logs) when ``links`` gives an address."""
    nodes = [charts.Node(s.step, s.step, " · ".join(filter(None, (
        s.status, "cache hit" if s.cache_hit else "", charts.fmt_duration(_seconds(s)) if s.duration_ms else ""))),
        fill=STATUS_FILL.get(s.status, "#ffffff"), href=links("step", f"{info.id}/{s.step}"),
        note=f"{s.step}: {s.status}" + (f" — {s.error}" if s.error else "")) for s in info.steps]
    edges = [(up, s.step) for s in info.steps for up in s.upstream]
    return charts.graph(nodes, edges, title=f"DAG of {info.name}")


def _details(info: ExecutionInfo) -> str:
    hits = sum(1 for s in info.steps if s.cache_hit)
    took = (info.ended_at - info.started_at).total_seconds() if info.ended_at else None
    return f.dl([
        ("execution", f.code(info.id)), ("pipeline", f.value(info.name)), ("status", f.status(info.status)),
        ("started", f"{f.when(info.started_at)} by {f.value(info.created_by)}"),
        ("took", f.value(charts.fmt_duration(took)) if took is not None else ""),
        ("cache hits", f.value(f"{hits} of {len(info.steps)} steps")),
        ("resumed", f.value(info.resume_count) if info.resume_count else ""),
        ("parameters", f.pairs(info.params) if info.params else ""),
        ("code", f.code_ref(info.code)), ("error", f.error_block(info.error))])


def _steps(info: ExecutionInfo, links: f.Links) -> str:
    rows = [[f.cell(f.a(links("step", f"{info.id}/{s.step}"), s.step), raw=True),
             f.cell(f.status(s.status), raw=True), f.cell("yes" if s.cache_hit else ""), f.cell(s.attempts),
             f.cell(charts.fmt_duration(_seconds(s)) if s.duration_ms is not None else None),
             f.cell(f.short(s.output_digest), raw=True), f.cell(f.error_block(s.error), raw=True)] for s in info.steps]
    return f.table(["step", "status", "cache hit", "attempts", "took", "output", "error"], rows)


def _durations(info: ExecutionInfo) -> str:
    items = [charts.Bar(s.step, s.duration_ms / 1000, href=None) for s in info.steps if s.duration_ms is not None]
    return f.figure("Step durations", charts.bars(items, title="step durations", unit="s")) if items else ""


def render_execution(info: ExecutionInfo, *, links: f.Links = f.no_links) -> str:
    """An execution as an HTML fragment.

    Args:
        info: the execution.
        links: where steps link to (the web UI's step logs; none in a notebook).
    """
    return (_details(info) + f.section("DAG", f'<div class="scroll">{dag(info, links)}</div>')
            + f.section("Steps", _steps(info, links) + _durations(info)))
