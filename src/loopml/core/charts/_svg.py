"""Writing SVG as text: elements with escaped attributes and text, text-width estimates, the document."""

from __future__ import annotations

import math
from html import escape

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
INK, MUTED, GRID, AXIS, ACCENT = "#1f2937", "#6b7280", "#eceef2", "#9ca3af", "#2563eb"
FONT_SIZE = 11
_RENAMED = {"cls": "class", "href": "href"}


def _value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.1f}".removesuffix(".0") if math.isfinite(value) else "0"
    return escape(str(value), quote=True)


def el(tag: str, *children: str, **attrs: object) -> str:
    """``<tag attrs>children</tag>``; ``cls`` becomes ``class``, ``_`` in names becomes ``-``; None is left out."""
    names = (f' {_RENAMED.get(k, k.replace("_", "-"))}="{_value(v)}"' for k, v in attrs.items() if v is not None)
    head = f"<{tag}{''.join(names)}"
    body = "".join(children)
    return f"{head}>{body}</{tag}>" if body else f"{head}/>"


def text(x: float, y: float, content: str, **attrs: object) -> str:
    """A text element whose content is escaped (ink-coloured unless ``fill`` is given)."""
    attrs.setdefault("fill", INK)
    return el("text", escape(content), x=float(x), y=float(y), **attrs)


def tooltip(content: str) -> str:
    """A ``<title>`` child: the browser shows it on hover."""
    return el("title", escape(content))


def link(href: str | None, body: str) -> str:
    """Wrap ``body`` in ``<a href>`` when there is a link (keyboard-focusable, opens in a new tab)."""
    return el("a", body, href=href) if href else body


def text_width(content: str, size: float = FONT_SIZE) -> float:
    """An estimate of the rendered width of ``content`` in pixels (proportional font)."""
    return sum(size * (0.34 if c in "il.,:;|!' " else 0.8 if c.isupper() or c in "mw" else 0.63)
               for c in content)


def clip(content: str, max_width: float, size: float = FONT_SIZE) -> str:
    """``content`` cut with an ellipsis so that it fits ``max_width`` pixels."""
    if text_width(content, size) <= max_width:
        return content
    out = ""
    for ch in content:
        if text_width(out + ch + "…", size) > max_width:
            break
        out += ch
    return out + "…"


def document(width: float, height: float, body: str, *, label: str, kind: str) -> str:
    """The ``<svg>`` root: sized, scalable (viewBox), labelled for screen readers, with its own font."""
    return el("svg", body, xmlns="http://www.w3.org/2000/svg", width=float(math.ceil(width)),
              height=float(math.ceil(height)), viewBox=f"0 0 {math.ceil(width)} {math.ceil(height)}",
              role="img", aria_label=label or kind, cls=f"lml-chart lml-{kind}", font_family=FONT,
              font_size=FONT_SIZE)
