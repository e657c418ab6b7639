"""Tiny inline-SVG chart primitives for the HTML report (no JavaScript, no external assets)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

_W, _H, _PAD = 320, 260, 40
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")


def _x(v: float) -> float:
    return _PAD + v * (_W - 2 * _PAD)


def _y(v: float) -> float:
    return _H - _PAD - v * (_H - 2 * _PAD)


def _axes(x_label: str, y_label: str) -> list[str]:
    parts = [f'<rect x="{_PAD}" y="{_PAD}" width="{_W - 2 * _PAD}" height="{_H - 2 * _PAD}" '
             'fill="none" stroke="#999"/>']
    for tick in (0.0, 0.5, 1.0):
        parts.append(f'<text x="{_x(tick):.1f}" y="{_H - _PAD + 14}" font-size="10" '
                     f'text-anchor="middle">{tick:g}</text>')
        parts.append(f'<text x="{_PAD - 6}" y="{_y(tick) + 3:.1f}" font-size="10" '
                     f'text-anchor="end">{tick:g}</text>')
    parts.append(f'<text x="{_W / 2}" y="{_H - 6}" font-size="11" text-anchor="middle">{escape(x_label)}</text>')
    parts.append(f'<text x="12" y="{_H / 2}" font-size="11" text-anchor="middle" '
                 f'transform="rotate(-90 12 {_H / 2})">{escape(y_label)}</text>')
    return parts


def line_chart(title: str, series: Sequence[tuple[str, Sequence[float], Sequence[float]]], *,
               x_label: str, y_label: str, diagonal: bool = False, markers: bool = False) -> str:
    """A unit-square line chart; ``series`` holds ``(name, xs, ys)`` with values in [0, 1]."""
    parts = _axes(x_label, y_label)
    if diagonal:
        parts.append(f'<line x1="{_x(0)}" y1="{_y(0)}" x2="{_x(1)}" y2="{_y(1)}" stroke="#bbb" '
                     'stroke-dasharray="4 3"/>')
    for i, (name, xs, ys) in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        points = " ".join(f"{_x(_clip(a)):.1f},{_y(_clip(b)):.1f}" for a, b in zip(xs, ys, strict=False))
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}"/>')
        if markers:
            parts.extend(f'<circle cx="{_x(_clip(a)):.1f}" cy="{_y(_clip(b)):.1f}" r="3" fill="{color}"/>'
                         for a, b in zip(xs, ys, strict=False))
        parts.append(f'<text x="{_W - _PAD}" y="{14 + 13 * i}" font-size="11" fill="{color}" '
                     f'text-anchor="end">{escape(name)} &#8212;</text>')
    return _svg(title, parts, _W, _H)


def bar_chart(title: str, items: Sequence[tuple[str, float]], *, limit: int = 20) -> str:
    """Horizontal bars, largest first (for SHAP importance)."""
    items = list(items)[:limit]
    height = 30 + 18 * len(items)
    top = max((v for _, v in items), default=0.0) or 1.0
    parts = []
    for i, (name, value) in enumerate(items):
        y = 20 + 18 * i
        width = max(value, 0.0) / top * 200
        parts.append(f'<text x="150" y="{y + 12}" font-size="11" text-anchor="end">{escape(name[:24])}</text>')
        parts.append(f'<rect x="156" y="{y + 2}" width="{width:.1f}" height="13" fill="{PALETTE[0]}"/>')
        parts.append(f'<text x="{160 + width:.1f}" y="{y + 12}" font-size="10">{value:.4g}</text>')
    return _svg(title, parts, 440, height)


def heatmap(title: str, labels: Sequence[str], matrix: Sequence[Sequence[int]]) -> str:
    """A confusion-matrix grid: rows are true labels, columns predicted; darker is more rows."""
    size = min(60, max(24, 240 // max(len(labels), 1)))
    top = max((max(row) for row in matrix), default=0) or 1
    left, head = 90, 40
    parts = [f'<text x="{left + size * len(labels) / 2}" y="12" font-size="11" text-anchor="middle">predicted</text>']
    for j, name in enumerate(labels):
        parts.append(f'<text x="{left + size * j + size / 2}" y="{head - 6}" font-size="10" '
                     f'text-anchor="middle">{escape(name[:10])}</text>')
    for i, row in enumerate(matrix):
        parts.append(f'<text x="{left - 6}" y="{head + size * i + size / 2 + 4}" font-size="10" '
                     f'text-anchor="end">true {escape(labels[i][:10])}</text>')
        for j, count in enumerate(row):
            shade = int(235 - 180 * count / top)
            fill = f"rgb({shade},{shade},255)"
            text = "#fff" if shade < 140 else "#000"
            parts.append(f'<rect x="{left + size * j}" y="{head + size * i}" width="{size}" height="{size}" '
                         f'fill="{fill}" stroke="#fff"/>')
            parts.append(f'<text x="{left + size * j + size / 2}" y="{head + size * i + size / 2 + 4}" '
                         f'font-size="10" text-anchor="middle" fill="{text}">{count}</text>')
    return _svg(title, parts, left + size * len(labels) + 10, head + size * len(labels) + 10)


def _clip(v: float) -> float:
    return min(max(float(v), 0.0), 1.0)


def _svg(title: str, parts: list[str], width: float, height: float) -> str:
    body = "".join(parts)
    return (f'<figure><figcaption>{escape(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{escape(title)}">{body}</svg></figure>')
