"""What ``loopml demo`` runs: today, the churn example pipeline twice (the second time from cache)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loopml.errors import NotFoundError


def example_path(name: str = "churn") -> Path:
    """Where the example pipelines live: the source checkout's ``examples/`` or the installed copy."""
    here = Path(__file__).resolve()
    candidates = [here.parents[3] / "examples" / name / "pipeline.py", here.parent / "_examples" / name / "pipeline.py"]
    for path in candidates:
        if path.is_file():
            return path
    raise NotFoundError(f"the {name} example was not found (looked in {', '.join(map(str, candidates))})")


def run_demo(*, on_event: Any = None, say: Any = print) -> list[Any]:
    """Run the churn example twice and return both executions."""
    from loopml.pipelines import run

    target = f"{example_path('churn')}:churn"
    runs = []
    for attempt in ("first run", "second run (should be all cache hits)"):
        say(f"[bold]churn pipeline — {attempt}[/bold]")
        runs.append(run(target, executor="local", on_event=on_event))
    return runs
