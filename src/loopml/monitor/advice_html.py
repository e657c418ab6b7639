"""Serving-mode advice as HTML: the recommendation, why, each mode's figures, and the inputs and prices used."""

from __future__ import annotations

from html import escape
from typing import Any

from loopml.core import fragments as f


def render_advice(found: dict[str, Any]) -> str:
    """The endpoint page's section for :func:`loopml.monitor.advice.advise`."""
    reasons = "".join(f"<li>{escape(r)}</li>" for r in found["reasons"])
    rows = [[f.cell(("★ " if mode == found["recommended"] else "") + mode), f.cell(m.get("p50_ms")),
             f.cell(m.get("p99_ms")), f.cell(None if m.get("meets_target") is None else round(m["meets_target"], 4)),
             f.cell(None if m.get("cost_per_month") is None else round(m["cost_per_month"], 2)), f.cell(m.get("refused"))]
            for mode, m in found["modes"].items()]
    inputs, prices = found["inputs"], found["prices"]
    used = f.dl([(k, f.value(v)) for k, v in inputs.items() if k != "measured"]
                + [(f"{k} (from)", f.value(v)) for k, v in (inputs.get("measured") or {}).items()])
    table = f.table(["key", "value"], [[f.cell(k), f.cell(v)] for k, v in prices.items() if k != "source"])
    return (f"<p><b>Recommended: {escape(found['recommended'])}</b> (now {escape(str(found.get('current_mode')))})."
            f"</p><ul>{reasons}</ul>"
            + f.table(["mode", "p50 ms", "p99 ms", "meets target", "$ / month", "refused"], rows)
            + f.section("Figures used (measured from the endpoint's records)", used)
            + f.section("Prices used", f"<p class='muted'>{escape(prices['source'])}</p>{table}"))
