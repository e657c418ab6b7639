"""HTML fragments for notebooks (``_repr_html_``) and the web UI: tables, definition lists, figures, status
badges and links, written once so both show the same thing.

Every value is escaped. Fragments carry classes, never inline styles (the UI's Content-Security-Policy
forbids them); :data:`CSS` styles the classes, inlined by :func:`notebook` and served to the UI at
``/ui/fragments.css``. Links come from a :data:`Links` function, so the UI gets its own addresses and a
notebook gets none.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Sequence
from html import escape
from importlib.resources import files
from typing import Any

from loopml.core.charts import fmt_number

#: ``links(kind, key)`` → an address or None. Kinds: run, execution, step (``execution/step``), group,
#: version (``group/version``), lineage (``group/version``), dataset (``name/version``), feature-group,
#: endpoint, schedule, monitoring-execution, alarm.
Links = Callable[[str, str], str | None]
_OK = {"SUCCEEDED", "COMPLETED", "Approved", "Completed", "ok", "OK", "InService", "passed", "CACHED", "identical", "same"}
_BAD = {"FAILED", "Rejected", "CompletedWithViolations", "ALARM", "Failed", "violations", "failed", "STOPPED", "different"}
_WAIT = {"PendingManualApproval", "PENDING", "STARTING", "INTERRUPTED", "insufficient_data", "Creating"}
_RUN = {"RUNNING", "TRAINING", "Updating"}


def no_links(kind: str, key: str) -> str | None:
    """The :data:`Links` of a notebook: nothing links anywhere."""
    return None


@functools.cache
def css() -> str:
    """The stylesheet of fragments (scoped to ``.lml``)."""
    return (files("loopml.core") / "fragments.css").read_text(encoding="utf-8")


def notebook(body: str) -> str:
    """A fragment ready for Jupyter: wrapped in ``.lml`` with the stylesheet inlined."""
    return f'<div class="lml"><style>{css()}</style>{body}</div>'


def value(item: Any) -> str:
    """A value as escaped text: numbers readable, None as a dash, dicts and lists as compact JSON."""
    if item is None:
        return '<span class="muted">–</span>'
    if isinstance(item, bool | int | float):
        return escape(fmt_number(item))
    if isinstance(item, dict | list | tuple):
        return f"<code>{escape(json.dumps(item, default=str, separators=(', ', ': ')))}</code>"
    return escape(str(item))


def a(href: str | None, text: str) -> str:
    """A link when there is an address, else the text (``text`` is escaped here)."""
    return f'<a href="{escape(href, quote=True)}">{escape(text)}</a>' if href else escape(text)


def status(name: str | None) -> str:
    """A coloured status badge."""
    if not name:
        return value(None)
    kind = "ok" if name in _OK else "bad" if name in _BAD else "wait" if name in _WAIT else \
        "run" if name in _RUN else ""
    return f'<span class="status {kind}">{escape(name)}</span>'


def cell(item: Any, css_class: str = "", *, raw: bool = False) -> str:
    """A ``<td>``: numbers right-aligned; ``raw`` when ``item`` is already HTML."""
    classes = " ".join(filter(None, ("num" if isinstance(item, int | float) and not isinstance(item, bool) else "",
                                     css_class)))
    attr = f' class="{classes}"' if classes else ""
    return f"<td{attr}>{item if raw else value(item)}</td>"


def table(head: Sequence[str], rows: Iterable[Sequence[str]], *, scroll: bool = False) -> str:
    """A table from a header and rows of ready ``<td>`` cells (see :func:`cell`)."""
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    out = f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="scroll">{out}</div>' if scroll else out


def dl(pairs: Iterable[tuple[str, str]]) -> str:
    """A definition list of (label, ready HTML) pairs, skipping empty values."""
    items = "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in pairs if v)
    return f"<dl>{items}</dl>"


def figure(title: str, svg: str) -> str:
    """A chart with its caption."""
    return f"<figure><figcaption>{escape(title)}</figcaption>{svg}</figure>"


def section(title: str, body: str) -> str:
    """A titled part of a fragment (nothing when ``body`` is empty)."""
    return f"<h4>{escape(title)}</h4>{body}" if body else ""


def when(moment: Any) -> str:
    """A timestamp (datetime or ISO text) as ``YYYY-MM-DD HH:MM:SS``, or a dash."""
    if not moment:
        return value(None)
    text = moment.isoformat() if hasattr(moment, "isoformat") else str(moment)
    return escape(text.replace("T", " ")[:19])


def code(text: str | None) -> str:
    """Text shown as code (ids, digests, commits), or a dash."""
    return f"<code>{escape(text)}</code>" if text else value(None)


def short(digest: str | None) -> str:
    """A digest shortened for people (``sha256:1a2b3c4d5e6f``), the whole of it on hover."""
    if not digest:
        return value(None)
    return f'<code title="{escape(digest, quote=True)}">{escape(digest[:19])}</code>'


def pairs(mapping: dict[str, Any] | None) -> str:
    """``key=value · key=value`` (values readable, nested ones as compact JSON), or a dash."""
    if not mapping:
        return value(None)
    shown = (f"{k}={fmt_number(v) if isinstance(v, int | float) and not isinstance(v, bool) else v}"
             if not isinstance(v, dict | list) else f"{k}={json.dumps(v, default=str)}" for k, v in mapping.items())
    return escape(" · ".join(shown))


def code_ref(code: dict[str, Any] | None) -> str:
    """Where code came from, for people: the commit, and whether (and how much) the tree was dirty."""
    if not code:
        return ""
    commit = str(code.get("commit") or "")[:12]
    files = code.get("files") or {}
    dirty = f" · dirty ({len(files)} files differ)" if code.get("dirty") and files else " · dirty" if code.get("dirty") else ""
    known = {k: v for k, v in code.items() if k not in ("commit", "dirty", "files", "diff_sha256", "environment")}
    rest = f" · {pairs(known)}" if known else ""
    return (f"<code>{escape(commit)}</code>" if commit else "") + escape(dirty) + rest


def error_block(text: str | None) -> str:
    """An error: its last line (what went wrong) in plain sight, the whole traceback folded under it."""
    if not text:
        return ""
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    last = lines[-1] if lines else str(text)
    if len(lines) <= 1:
        return f"<span class='fail'>{escape(last)}</span>"
    return (f"<span class='fail'>{escape(last)}</span><details><summary>traceback</summary>"
            f"<pre>{escape(str(text).strip())}</pre></details>")
