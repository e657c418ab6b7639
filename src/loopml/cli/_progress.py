"""Progress of long commands on a terminal: a status line for a training job and an endpoint that starts, a
live trial table for tuning. On a pipe nothing is drawn but the end result."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any

from loopml.cli._render import console, styled


class JobWatch:
    """Shows a training job's status, elapsed time and latest metrics on one line while it runs.

    Passed to ``jobs.run`` as its ``should_stop`` poll (the job supervisor calls it every quarter second with
    the run id); it only watches, never asks the job to stop.
    """

    def __init__(self, what: str) -> None:
        self.what, self.started, self.last = what, time.monotonic(), 0.0
        self.status = console.status(f"{what}: starting")

    def __enter__(self) -> JobWatch:
        self.status.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.status.stop()

    def __call__(self, run_id: str) -> None:
        if time.monotonic() - self.last < 1.0:
            return None
        self.last = time.monotonic()
        from loopml.train import tracking

        run = tracking.get_run(run_id)
        shown = ", ".join(f"{k}={v:.4g}" for k, v in list(run.metrics.items())[:4] if isinstance(v, int | float))
        self.status.update(f"{self.what} {run.id}: {run.status} {time.monotonic() - self.started:.0f} s"
                           + (f"  {shown}" if shown else ""))
        return None


@contextmanager
def spinner(text: str) -> Any:
    """A spinner with ``text`` while the block runs (nothing on a pipe)."""
    with console.status(text):
        yield


class TrialTable:
    """A live table of tuning trials, one row per finished trial, the best value marked."""

    def __init__(self, space: list[str], objective: str, direction: str) -> None:
        from rich.live import Live

        self.space, self.objective, self.direction = space, objective, direction
        self.rows: list[dict[str, Any]] = []
        self.live = Live(self.table(), console=console, refresh_per_second=4, transient=True)

    def __enter__(self) -> TrialTable:
        self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.stop()

    def __call__(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self.live.update(self.table())

    def table(self) -> Any:
        from rich.table import Table

        scored = [r["value"] for r in self.rows if r.get("value") is not None and r["status"] == "COMPLETED"]
        best = (max if self.direction == "maximize" else min)(scored) if scored else None
        table = Table("trial", "run", "status", self.objective, *self.space, box=None, header_style="bold")
        for r in sorted(self.rows, key=lambda r: r["trial"]):
            value = r.get("value")
            mark = " *" if value is not None and value == best else ""
            table.add_row(str(r["trial"]), r["run_id"], styled("PRUNED" if r.get("pruned") else r["status"]),
                          "-" if value is None else f"{value:.6g}{mark}",
                          *(_cell(r.get(name)) for name in self.space))
        return table


def _cell(value: Any) -> str:
    return "-" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)
