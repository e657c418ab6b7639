"""Conditions for when(): every comparison, a boolean output, its negation, and clear errors for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopml.errors import ValidationError
from loopml.pipelines import Pipeline, pipeline, run, step, when

COND = Path(__file__).resolve().parent / "resources" / "conditions.py"


NODES = {"branch": "eq", "branch-2": "ne", "branch-3": "true", "branch-4": "false", "branch-5": "eq_true"}


@pytest.mark.parametrize(("status", "passed", "skipped"), [
    ("ok", True, {"ne", "false"}),
    ("bad", False, {"eq", "true", "eq_true"}),
])
def test_equality_inequality_and_boolean_outputs_choose_the_branch(
    home: Path, status: str, passed: bool, skipped: set[str]
) -> None:
    info = run(f"{COND}:every_condition", executor="inline", params={"status": status, "passed": passed})
    assert info.status == "SUCCEEDED"
    states = {NODES[s.step]: s.status for s in info.steps if s.step in NODES}
    assert {label for label, state in states.items() if state == "SKIPPED"} == skipped
    assert {label for label, state in states.items() if state == "SUCCEEDED"} == set(NODES.values()) - skipped
    reasons = [s.error for s in info.steps if s.status == "SKIPPED"]
    assert all("was false" in r for r in reasons)


@step
def _double(x: int) -> int:
    return 2 * x


def _build(body) -> None:
    Pipeline(body, "p").build({})


@pytest.mark.parametrize(("body", "match"), [
    (lambda: when(1 > 0).__enter__(), "got bool True"),
    (lambda: when(_double(x=1) > [1, 2]).__enter__(), "not with list"),
    (lambda: when(_double(x=1) == _double(x=2)).__enter__(), "not with another step output"),
])
def test_conditions_that_cannot_work_are_refused_when_the_pipeline_is_built(body, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        _build(body)


def test_a_step_output_in_an_if_says_to_use_when() -> None:
    def body() -> None:
        if _double(x=1):
            pass

    with pytest.raises(TypeError, match="use `with when"):
        _build(body)


def test_outputs_stay_usable_as_dict_keys() -> None:
    seen = {}

    @pipeline
    def p():
        out = _double(x=1)
        seen[out] = 1
        assert out in seen

    p.build({})
    assert len(seen) == 1
