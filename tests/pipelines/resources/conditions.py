"""Pipelines whose branches use every kind of condition, and a step with declared cache inputs."""

from __future__ import annotations

import os
from pathlib import Path

from basic import _log  # the engine tests' execution log (this folder is on sys.path when run by path)

from loopml.pipelines import pipeline, step, when


@step
def verdict(status: str = "ok", passed: bool = True) -> dict:
    return {"status": status, "passed": passed}


@step
def branch(label: str) -> str:
    return label


@pipeline
def every_condition(status: str = "ok", passed: bool = True):
    v = verdict(status=status, passed=passed)
    with when(v["status"] == "ok"):
        branch("eq")
    with when(v["status"] != "ok"):
        branch("ne")
    with when(v["passed"]):
        branch("true")
    with when(~v["passed"]):
        branch("false")
    with when(v["passed"] == True):  # noqa: E712 - a pipeline condition, not a Python comparison
        branch("eq_true")


def _setting() -> str:
    return os.environ.get("CHAMPION_VERSION", "1")


@step(cache_inputs=[os.environ.get("LOOKUP_FILE", "lookup.csv"), _setting])
def reads_a_file(n: int = 1) -> int:
    _log("reads_a_file")
    return len(Path(os.environ.get("LOOKUP_FILE", "lookup.csv")).read_text()) + n


@pipeline
def declared(n: int = 1):
    reads_a_file(n=n)
