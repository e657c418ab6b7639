"""The pipeline engine: DAG building, conditions, caching, retries, timeouts, crashes, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopml.errors import NotFoundError, ValidationError
from loopml.pipelines import get_execution, list_executions, output, pipeline, run, step
from loopml.pipelines._code import load_ref
from tests.pipelines.conftest import counts

BASIC = "tests.pipelines.resources.basic"


@pytest.mark.parametrize("executor", ["inline", "local"])
def test_runs_the_dag_and_records_every_step(home: Path, exec_log: Path, executor: str) -> None:
    info = run(f"{BASIC}:five", executor=executor)
    assert info.status == "SUCCEEDED"
    assert {s.step: s.status for s in info.steps} == dict.fromkeys(
        ["make_data", "summarize", "to_array", "slow", "finish", "publish"], "SUCCEEDED")
    assert info.step("finish").upstream == ["slow", "summarize", "to_array"]
    assert all(s.output_digest and s.output_digest.startswith("sha256:") for s in info.steps)
    assert output(info.id, "summarize")["n"] == 200
    assert output(info.id, "to_array").shape == (200,)
    assert output(info.id, "publish").startswith("published")
    assert info.created_by == "alice" and info.params == {"n_rows": 200, "threshold": 0.5}


def test_a_false_condition_skips_the_branch(home: Path) -> None:
    info = run(f"{BASIC}:five", executor="inline", params={"threshold": 0.95})
    assert info.status == "SUCCEEDED"
    publish = info.step("publish")
    assert publish.status == "SKIPPED"
    assert "summarize['auc'] > 0.95 was false" in publish.error


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


def test_retries_with_backoff_then_succeeds(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLAKY_FILE", str(tmp_path / "attempts"))
    import importlib

    import tests.pipelines.resources.basic as basic

    importlib.reload(basic)
    info = run(basic.retrying, executor="inline")
    assert info.status == "SUCCEEDED"
    assert info.step("flaky").attempts == 3
    assert output(info.id, "flaky") == 2


@pytest.mark.parametrize("executor", ["inline", "local"])
def test_a_step_past_its_timeout_fails(home: Path, executor: str) -> None:
    info = run(f"{BASIC}:timing_out", executor=executor)
    assert info.status == "FAILED"
    assert "timeout of 0.5 s" in info.step("sleeper").error


def test_a_step_that_raises_fails_the_execution_with_its_name_and_last_lines(home: Path) -> None:
    info = run(f"{BASIC}:failing", executor="local")
    assert info.status == "FAILED"
    assert "step 'boom' failed" in info.error
    assert "ValueError: the input had no churners" in info.error
    assert info.step("make_data").status == "SUCCEEDED"


def test_a_killed_worker_fails_its_step_not_the_orchestrator(home: Path) -> None:
    info = run(f"{BASIC}:crashing", executor="local")
    assert info.status == "FAILED"
    assert "killed by signal 9" in info.step("die").error
    assert info.step("summarize").status == "SUCCEEDED"  # the independent branch still ran


def test_an_unstorable_output_names_the_step_and_type(home: Path) -> None:
    info = run(f"{BASIC}:unstorable", executor="inline")
    assert info.status == "FAILED"
    assert "step 'opaque' returned a tests.pipelines.resources.basic.Opaque" in info.step("opaque").error


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


@pytest.mark.parametrize(("threshold", "ran", "skipped"), [(0.5, "publish", "alert"), (0.95, "alert", "publish")])
def test_a_negated_condition_runs_the_other_branch(home: Path, threshold: float, ran: str, skipped: str) -> None:
    info = run(f"{BASIC}:branches", executor="inline", params={"threshold": threshold})
    assert info.step(ran).status == "SUCCEEDED"
    assert info.step(skipped).status == "SKIPPED"
    if skipped == "alert":
        assert "not (summarize['auc'] > 0.5) was false" in info.step("alert").error
