"""Heatmaps of counts: the confusion matrix (rows are true labels, columns predicted)."""

from __future__ import annotations

from collections.abc import Sequence

from loopml.core.charts._scale import fmt_number
from loopml.core.charts._svg import MUTED, clip, document, el, text, text_width, tooltip


def heatmap(labels: Sequence[str], matrix: Sequence[Sequence[float]], *, title: str = "",
            x_label: str = "predicted", y_label: str = "true") -> str:
    """A square grid, darker for larger counts, each cell labelled with its count.

    Returns:
        The ``<svg>`` document as a string.
    """
    size = min(60.0, max(28.0, 240.0 / max(len(labels), 1)))
    top = max((max(row) for row in matrix if row), default=0) or 1
    left = min(max((text_width(str(n)) for n in labels), default=20.0), 120.0) + 26
    head = 40.0
    parts = [text(left + size * len(labels) / 2, 12, x_label, text_anchor="middle", fill=MUTED),
             text(10, head - 6, y_label, fill=MUTED)]
    for j, name in enumerate(labels):
        parts.append(text(left + size * (j + 0.5), head - 6, clip(str(name), size - 2), text_anchor="middle"))
    for i, row in enumerate(matrix):
        y = head + size * i
        parts.append(text(left - 6, y + size / 2 + 4, clip(str(labels[i]), left - 20), text_anchor="end"))
        for j, count in enumerate(row):
            shade = int(235 - 180 * count / top)
            cell = el("rect", tooltip(f"true {labels[i]}, predicted {labels[j]}: {fmt_number(count)}"),
                      x=left + size * j, y=y, width=size, height=size, fill=f"rgb({shade},{shade},255)",
                      stroke="#fff")
            parts.append(cell + text(left + size * (j + 0.5), y + size / 2 + 4, fmt_number(count),
                                     text_anchor="middle", fill="#fff" if shade < 140 else "#111827"))
    return document(left + size * len(labels) + 10, head + size * len(labels) + 10, "".join(parts),
                    label=title, kind="heatmap")
