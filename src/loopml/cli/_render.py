"""Output helpers shared by the commands: JSON, tables, and one-line errors.

Nothing printed is read as Rich markup: user text such as a gate rule ``abs(DPPL[sex]) <= 0.1`` prints as
written. Styles are given explicitly (:func:`line`, :func:`styled`), never inside the text.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.text import Text

console = Console(markup=False)
err_console = Console(stderr=True, markup=False)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def print_json(value: Any) -> None:
    """Print ``value`` as JSON on stdout (plain, machine-readable)."""
    print(json.dumps(value, default=_default, indent=2, sort_keys=False))


def ago(value: datetime | None) -> str:
    """A timestamp as ``YYYY-MM-DD HH:MM:SS`` (UTC) or ``-``."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


STATUS_STYLE = {
    "SUCCEEDED": "green", "CACHED": "cyan", "RUNNING": "yellow", "PENDING": "dim", "SKIPPED": "dim",
    "FAILED": "red", "Approved": "green", "Rejected": "red", "PendingManualApproval": "yellow",
}


def styled(status: str) -> Text:
    """A status in its colour (green Approved, red FAILED...)."""
    return Text(str(status), style=STATUS_STYLE.get(status, ""))


def bold(text: object) -> Text:
    return Text(str(text), style="bold")


def red(text: object) -> Text:
    return Text(str(text), style="red")


def line(*parts: object) -> Text:
    """One line from plain parts and styled :class:`~rich.text.Text` parts; no part is read as markup."""
    return Text.assemble(*(part if isinstance(part, Text) else str(part) for part in parts))


def done(json_out: bool, doc: Any, text: str | Text) -> None:
    """What a command did: ``doc`` as JSON with ``--json``, else ``text`` for people."""
    if json_out:
        print_json(doc)
    else:
        console.print(text)


def print_table(table: Any) -> None:
    """Print a table at its natural width, even wider than the terminal: IDs and references stay whole (and so
    can be copied into the next command), never cut with '…' or broken over two lines."""
    from rich.measure import Measurement

    needed = Measurement.get(console, console.options.update(width=10_000), table).maximum
    if needed <= console.width:
        console.print(table)
        return
    wide = Console(file=console.file, width=needed, markup=False, highlight=False,
                   force_terminal=console.is_terminal, no_color=console.no_color)
    wide.print(table, crop=False)
