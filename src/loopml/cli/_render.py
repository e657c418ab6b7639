"""Output helpers shared by the commands: JSON, tables, and one-line errors."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich.console import Console

console = Console()
err_console = Console(stderr=True)


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


def styled(status: str) -> str:
    style = STATUS_STYLE.get(status, "")
    return f"[{style}]{status}[/{style}]" if style else status
