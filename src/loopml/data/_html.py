"""The HTML rendering of a profile: one self-contained page, charts drawn as inline SVG."""

from __future__ import annotations

from html import escape
from typing import Any

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse}td,th{padding:.2rem .6rem;text-align:left;border-bottom:1px solid #eee}
.col{border:1px solid #ddd;border-radius:6px;padding:1rem;margin:1rem 0}
.warn{color:#a15c00}.muted{color:#777}svg rect{fill:#4a78c2}svg rect.top{fill:#6a9a4a}
"""
_W, _H = 320, 90


def _fmt(value: Any, key: str = "") -> str:
    if value is None:
        return "–"
    if key == "missing_rate":
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return escape(str(value))


def histogram_svg(edges: list[float], counts: list[int]) -> str:
    """Bars for a histogram, as an inline ``<svg>`` element."""
    top = max(counts) or 1
    width = _W / max(1, len(counts))
    bars = []
    for i, count in enumerate(counts):
        h = _H * count / top
        label = f"{edges[i]:.4g} – {edges[i + 1]:.4g}: {count}"
        bars.append(f'<rect x="{i * width:.1f}" y="{_H - h:.1f}" width="{max(width - 1, 1):.1f}" '
                    f'height="{h:.1f}"><title>{escape(label)}</title></rect>')
    axis = (f'<text x="0" y="{_H + 12}" font-size="11">{edges[0]:.4g}</text>'
            f'<text x="{_W}" y="{_H + 12}" font-size="11" text-anchor="end">{edges[-1]:.4g}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H + 16}" role="img">'
            f'{"".join(bars)}{axis}</svg>')


def top_values_svg(values: list[dict[str, Any]]) -> str:
    """Horizontal bars for the most frequent values, as an inline ``<svg>`` element."""
    if not values:
        return ""
    top, row = max(v["count"] for v in values) or 1, 16
    parts = []
    for i, item in enumerate(values):
        w = (_W - 175) * item["count"] / top
        parts.append(f'<text x="0" y="{i * row + 12}" font-size="11">{escape(item["value"][:18])}</text>'
                     f'<rect class="top" x="125" y="{i * row + 2}" width="{w:.1f}" height="{row - 4}"></rect>'
                     f'<text x="{130 + w:.1f}" y="{i * row + 12}" font-size="11">{item["count"]}</text>')
    height = row * len(values)
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{height}" role="img">{"".join(parts)}</svg>'


def _column(col: dict[str, Any], warnings: list[dict[str, Any]]) -> str:
    keys = ("logical_type", "count", "missing_rate", "distinct", "min", "max", "mean", "std", "skew")
    rows = "".join(f"<tr><th>{k}</th><td>{_fmt(col.get(k), k)}</td></tr>" for k in keys if k in col)
    rows += "".join(f"<tr><th>{q}</th><td>{_fmt(v)}</td></tr>" for q, v in (col.get("quantiles") or {}).items())
    chart = ""
    if col.get("histogram"):
        chart = histogram_svg(col["histogram"]["edges"], col["histogram"]["counts"])
    elif col.get("top_values"):
        chart = top_values_svg(col["top_values"])
    notes = "".join(f'<p class="warn">⚠ {escape(w["message"])}</p>' for w in warnings)
    return (f'<div class="col"><h3>{escape(col["name"])}</h3>{notes}'
            f'<table style="float:left;margin-right:2rem">{rows}</table>{chart}<div style="clear:both"></div></div>')


def render(report: dict[str, Any], *, title: str) -> str:
    """The whole page for a profile report."""
    by_col: dict[str | None, list[dict[str, Any]]] = {}
    for warning in report["warnings"]:
        by_col.setdefault(warning["column"], []).append(warning)
    general = "".join(f'<p class="warn">⚠ {escape(w["message"])}</p>' for w in by_col.get(None, []))
    body = "".join(_column(c, by_col.get(c["name"], [])) for c in report["columns"])
    summary = (f'<p class="muted">{report["rows"]} rows · {report["columns_count"]} columns · '
               f'{report["duplicate_rows"]} duplicate rows · {len(report["warnings"])} warnings</p>')
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{_CSS}</style></head><body><h1>{escape(title)}</h1>{summary}{general}{body}</body></html>")
