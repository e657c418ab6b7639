"""The pipeline engine: caching, bad input, file pipelines, both metadata back ends.

What every executor must do (DAG, conditions, retries, timeouts, failures, crashes, resume, fencing) is the
executor contract, run over every back end in test_executor_contract.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopml.errors import NotFoundError, ValidationError
from loopml.pipelines import get_execution, list_executions, output, pipeline, run, step
from loopml.pipelines._code import load_ref
from tests.pipelines.conftest import counts

BASIC = "tests.pipelines.resources.basic"






def test_second_run_is_all_cache_hits_and_byte_identical(home: Path, exec_log: Path) -> None:
    first = run(f"{BASIC}:chain", executor="inline")
    second = run(f"{BASIC}:chain", executor="inline")
    assert [s.status for s in second.steps] == ["CACHED"] * 5
    assert all(s.cache_hit for s in second.steps)
    assert [s.output_digest for s in first.steps] == [s.output_digest for s in second.steps]
    assert counts(exec_log) == dict.fromkeys("abcde", 1)
    third = run(f"{BASIC}:chain", executor="inline", cache=False)
    assert [s.status for s in third.steps] == ["SUCCEEDED"] * 5
    changed = run(f"{BASIC}:chain", executor="inline", params={"n": 51})
    assert [s.status for s in changed.steps] == ["SUCCEEDED"] * 5












def test_bad_parameters_are_refused_before_anything_runs(home: Path) -> None:
    with pytest.raises(ValidationError, match=r"no parameter 'bogus'; valid parameters: n_rows: int = 200"):
        run(f"{BASIC}:five", params={"bogus": 1})
    with pytest.raises(ValidationError, match=r"parameter 'n_rows' expects int, got 'many'"):
        run(f"{BASIC}:five", params={"n_rows": "many"})
    with pytest.raises(ValidationError, match=r"parameter 'threshold' expects float"):
        run(f"{BASIC}:five", params={"threshold": [1]})
    assert list_executions() == []


def test_unknown_targets_are_clear_errors(home: Path) -> None:
    with pytest.raises(NotFoundError, match="cannot import module 'no_such_module'"):
        load_ref("no_such_module:p")
    with pytest.raises(NotFoundError, match="has no 'nope'"):
        load_ref(f"{BASIC}:nope")
    with pytest.raises(ValidationError, match="not MODULE:NAME"):
        load_ref("just-a-name")
    with pytest.raises(NotFoundError):
        get_execution("pe_missing")


def test_pipelines_defined_in_a_file_run_by_path(home: Path, tmp_path: Path) -> None:
    script = tmp_path / "mine.py"
    script.write_text(
        "from loopml.pipelines import pipeline, step\n"
        "@step\ndef one() -> int:\n    return 1\n"
        "@step\ndef plus(x: int, k: int = 2) -> int:\n    return x + k\n"
        "@pipeline\ndef p(k: int = 5):\n    plus(one(), k=k)\n"
    )
    info = run(f"{script}:p", executor="local", params={"k": "7"})
    assert info.status == "SUCCEEDED"
    assert output(info.id, "plus") == 8


def test_steps_still_work_as_plain_functions() -> None:
    @step
    def double(x: int) -> int:
        return 2 * x

    @pipeline
    def p():
        double(1)

    assert double(21) == 42
    assert list(p.build({})) == ["double"]


def test_runs_against_both_metadata_backends(any_home: Path) -> None:
    first = run(f"{BASIC}:chain", executor="inline")
    second = run(f"{BASIC}:chain", executor="inline")
    assert first.status == second.status == "SUCCEEDED"
    assert all(s.cache_hit for s in second.steps)
    assert [r["id"] for r in list_executions()] == [second.id, first.id]

