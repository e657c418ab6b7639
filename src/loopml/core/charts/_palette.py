"""Colours: a qualitative palette that never repeats, so every series and legend entry is told apart."""

from __future__ import annotations

import colorsys

#: The first ten (matplotlib's tab10, designed to be told apart); more are generated, never repeated.
BASE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
        "#17becf")
_GOLDEN = 0.618033988749895


def _generated(i: int) -> str:
    hue = (0.11 + i * _GOLDEN) % 1.0
    lightness = (0.38, 0.52, 0.30, 0.60)[(i // 7) % 4]
    saturation = (0.70, 0.55, 0.85)[(i // 3) % 3]
    r, g, b = colorsys.hls_to_rgb(hue, lightness, saturation)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def colors(n: int) -> list[str]:
    """``n`` distinct colours (hex), the first ten from :data:`BASE`, the rest generated.

    Example:
        >>> colors(3)
        ['#1f77b4', '#ff7f0e', '#2ca02c']
    """
    out: list[str] = list(BASE[:n])
    seen, i = set(out), 0
    while len(out) < n:
        color = _generated(i)
        i += 1
        if color not in seen:
            seen.add(color)
            out.append(color)
    return out
