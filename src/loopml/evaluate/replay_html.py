"""A traffic replay as HTML: the verdict, the figures of every replayed row, the evaluation where labels arrived
(the very report the gate's evaluation draws), latency per row and the requests the challenger refused."""

from __future__ import annotations

from html import escape
from typing import Any

from loopml.core import fragments as f


def render_replay_fragment(report: dict[str, Any]) -> str:
    """The replay's sections (no page around them), for the UI and notebooks."""
    from loopml.evaluate.gate import GateResult
    from loopml.evaluate.html import render_fragment
    from loopml.evaluate.replay import _evaluation

    s, window = report.get("summary") or {}, report.get("window") or {}
    gate = report.get("gate")
    head = f.dl([
        ("endpoint", f.value(report.get("endpoint"))), ("champion", f.value(report.get("champion"))),
        ("challenger", f.value(report.get("challenger"))),
        ("window", f"{f.when(window.get('start'))} – {f.when(window.get('end'))} UTC"),
        ("replay gate", (f.status("passed") if gate["passed"] else f.status("failed")) if gate else ""),
        ("requests captured", f.value(report.get("records"))), ("rows replayed", f.value(s.get("rows"))),
        ("rows with ground truth", f.value(s.get("labelled_rows"))),
        ("agreement with the champion", f.value(s.get("agreement"))),
        ("prediction shift (KS)", f.value(s.get("shift"))),
        ("challenger payload failures", f"{f.value(s.get('failures'))} ({f.value(s.get('failure_rate'))})")])
    rules = "".join(f"<li>{f.status('passed' if r['passed'] else 'failed')} <code>{escape(r['rule'])}</code> — "
                    f"{escape(r['reason'])}</li>" for r in (gate or {}).get("rules", []))
    latency = report.get("latency") or {}
    lat_rows = [[f.cell(name), f.cell(v.get("p50_ms")), f.cell(v.get("p99_ms")), f.cell(v.get("batch_ms_per_row"))]
                for name, v in latency.items()]
    fails = (report.get("failures") or {}).get("challenger") or []
    fail_rows = [[f.cell(x.get("eventId")), f.cell(x.get("error"))] for x in fails[:10]]
    evaluation = _evaluation(report)
    body = (head + f.section("Replay gate", f"<ul>{rules}</ul>" if rules else "")
            + f.section("Latency per row (ms, offline)", f.table(["model", "p50", "p99", "batch, per row"], lat_rows)
                        if lat_rows else "")
            + f.section("Requests the challenger refused", f.table(["event", "why"], fail_rows) if fail_rows else ""))
    if evaluation is not None:
        body += f.section("On the replayed rows with ground truth", render_fragment(
            evaluation, gate=GateResult.model_validate(gate) if gate else None))
    else:
        body += "<p class='muted'>No ground truth arrived for these rows: agreement, shift and failures only.</p>"
    return body


def render_replay(report: dict[str, Any]) -> str:
    """A self-contained HTML page of a replay."""
    title = f"Replay of {report.get('endpoint')}: {report.get('challenger')} vs {report.get('champion')}"
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{f.css()}</style></head><body class='lml'><h1>{escape(title)}</h1>"
            f"{render_replay_fragment(report)}</body></html>")
