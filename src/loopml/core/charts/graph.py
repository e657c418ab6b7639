"""Graphs laid out left to right in layers: pipeline DAGs and lineage (data → code → run → model → approval)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from loopml.core.charts._svg import INK, MUTED, clip, document, el, link, text, text_width, tooltip

NODE_H, GAP_X, GAP_Y, PAD = 46.0, 56.0, 16.0, 10.0
MIN_W, MAX_W = 120.0, 280.0


@dataclass(frozen=True)
class Node:
    """A box: its id (edges name it), a bold label, a second line, a fill colour, a link and hover text."""

    id: str
    label: str
    sub: str = ""
    fill: str = "#ffffff"
    href: str | None = None
    note: str = ""


def _layers(nodes: Sequence[Node], edges: Sequence[tuple[str, str]]) -> list[list[Node]]:
    depth = {n.id: 0 for n in nodes}
    for _ in range(len(nodes)):
        changed = False
        for a, b in edges:
            if a in depth and b in depth and depth[b] < depth[a] + 1 <= len(nodes):
                depth[b], changed = depth[a] + 1, True
        if not changed:
            break
    layers: list[list[Node]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for n in nodes:
        layers[depth[n.id]].append(n)
    return _ordered(layers, edges)


def _ordered(layers: list[list[Node]], edges: Sequence[tuple[str, str]]) -> list[list[Node]]:
    """Order each layer by the mean position of its parents (fewer crossings)."""
    place: dict[str, float] = {}
    out = []
    for layer in layers:
        def centre(item: tuple[int, Node]) -> float:
            parents = [place[a] for a, b in edges if b == item[1].id and a in place]
            return sum(parents) / len(parents) if parents else float(item[0])
        ordered = [n for _, n in sorted(enumerate(layer), key=centre)]
        place.update({n.id: float(i) for i, n in enumerate(ordered)})
        out.append(ordered)
    return out


def _width(layer: list[Node]) -> float:
    widest = max((max(text_width(n.label, 12) * 1.1, text_width(n.sub)) for n in layer), default=0.0)
    return min(max(widest + 20, MIN_W), MAX_W)


def _box(n: Node, x: float, y: float, w: float) -> str:
    body = (el("rect", x=x, y=y, width=w, height=NODE_H, rx=6, fill=n.fill, stroke="#4b5563")
            + text(x + 10, y + 19, clip(n.label, w - 20, 12), font_weight=600, font_size=12, fill=INK)
            + text(x + 10, y + 36, clip(n.sub, w - 20), fill=MUTED)
            + tooltip(n.note or " ".join(filter(None, (n.label, n.sub)))))
    return link(n.href, el("g", body, cls="node", data_node=n.id))


def _edge(p: tuple[float, float, float], q: tuple[float, float, float]) -> str:
    x1, y1, x2, y2 = p[0] + p[2], p[1] + NODE_H / 2, q[0], q[1] + NODE_H / 2
    mid = (x1 + x2) / 2
    curve = el("path", d=f"M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2 - 6:.1f},{y2:.1f}",
               stroke="#9ca3af", stroke_width=1.5, fill="none", cls="edge")
    head = el("path", d=f"M{x2:.1f},{y2:.1f} L{x2 - 8:.1f},{y2 - 4:.1f} L{x2 - 8:.1f},{y2 + 4:.1f} Z", fill="#9ca3af")
    return curve + head


def graph(nodes: Sequence[Node], edges: Sequence[tuple[str, str]], *, title: str = "") -> str:
    """A left-to-right layered drawing of a DAG, sized to hold every node (nothing is cut off).

    Args:
        nodes: the boxes; edges: ``(from_id, to_id)`` pairs (edges naming unknown ids are skipped).
        title: the accessible name of the chart.

    Returns:
        The ``<svg>`` document as a string.
    """
    layers = _layers(nodes, edges)
    rows = max((len(layer) for layer in layers), default=1)
    height = PAD * 2 + rows * NODE_H + (rows - 1) * GAP_Y
    pos: dict[str, tuple[float, float, float]] = {}
    x = PAD
    for layer in layers:
        w = _width(layer)
        offset = (height - len(layer) * NODE_H - (len(layer) - 1) * GAP_Y) / 2
        for j, n in enumerate(layer):
            pos[n.id] = (x, offset + j * (NODE_H + GAP_Y), w)
        x += w + GAP_X
    lines = "".join(_edge(pos[a], pos[b]) for a, b in edges if a in pos and b in pos)
    boxes = "".join(_box(n, *pos[n.id]) for n in nodes)
    return document(max(x - GAP_X + PAD, 40), height, lines + boxes, label=title, kind="graph")
