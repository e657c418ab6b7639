"""The contract every pipeline :class:`~loopml.pipelines.executors.Executor` back end must honour.

Each check takes an executor name from :data:`~loopml.pipelines.executors.EXECUTORS` and a scratch
folder, runs real pipelines (:mod:`loopml.testing._pipelines`) against the loopml home the caller set
up (``LOOPML_HOME`` / ``LOOPML_DB`` / ``LOOPML_ARTIFACTS`` in the environment), and raises
AssertionError on a violation. Workers must see the scratch folder (a cluster on the test's machine).
Checks marked ``isolated`` need steps that run outside the orchestrator's process; they are left out
for back ends whose class sets ``isolated = False`` (inline). ``tests/pipelines/test_executor_contract.py``
runs the suite over every row of the table: inline, local and a real multi-node Ray cluster.

Usage: ``from loopml.testing.executor_contract import contract_for`` then parametrize over
``contract_for(name)``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import Any

from loopml.pipelines.executors import EXECUTORS

P = "loopml.testing._pipelines"
Check = Callable[[str, Path], None]


def _counts(scratch: Path) -> dict[str, int]:
    folder = scratch / "exec_log"
    return {p.name: len(p.read_text().splitlines()) for p in folder.iterdir()} if folder.exists() else {}


def _run(name: str, executor: str, **params: Any) -> Any:
    from loopml.pipelines import run

    cache = params.pop("cache", True)
    return run(f"{P}:{name}", executor=executor, params=params, cache=cache)


def runs_the_dag_and_records_every_step(executor: str, scratch: Path) -> None:
    from loopml.core import context
    from loopml.pipelines import output

    info = _run("diamond", executor)
    assert info.status == "SUCCEEDED", info.error
    assert {s.step: s.status for s in info.steps} == dict.fromkeys(
        ["make_data", "summarize", "to_array", "finish", "publish"], "SUCCEEDED")
    assert info.step("finish").upstream == ["summarize", "to_array"]
    assert all(s.output_digest and s.output_digest.startswith("sha256:") for s in info.steps)
    assert all(s.attempts == 1 and s.duration_ms is not None and s.started_at and s.ended_at for s in info.steps)
    assert output(info.id, "summarize")["n"] == 200
    assert output(info.id, "to_array").shape == (200,)
    assert output(info.id, "finish")["n"] == 200
    assert output(info.id, "publish").startswith("published")
    assert info.created_by == context.current_user() and info.params == {"n_rows": 200, "threshold": 0.5}
    store = context.get_artifacts()
    assert all(store.exists(s.output_digest) for s in info.steps)  # outputs live in the artifact store


def step_output_is_captured_in_its_record(executor: str, scratch: Path) -> None:
    info = _run("diamond", executor, n_rows=7)
    assert "summarizing 7 rows" in (info.step("summarize").logs or "")


def a_false_condition_skips_the_branch(executor: str, scratch: Path) -> None:
    info = _run("diamond", executor, threshold=0.95)
    assert info.status == "SUCCEEDED"
    assert info.step("publish").status == "SKIPPED"
    assert "summarize['auc'] > 0.95 was false" in info.step("publish").error
    other = _run("branches", executor, threshold=0.95)
    assert other.step("alert").status == "SUCCEEDED" and other.step("publish").status == "SKIPPED"


def a_second_run_is_all_cache_hits_and_byte_identical(executor: str, scratch: Path) -> None:
    first = _run("chain", executor, scratch=str(scratch))
    second = _run("chain", executor, scratch=str(scratch))
    assert [s.status for s in second.steps] == ["CACHED"] * 5
    assert [s.output_digest for s in first.steps] == [s.output_digest for s in second.steps]
    assert _counts(scratch) == dict.fromkeys("abcde", 1)
    third = _run("chain", executor, scratch=str(scratch), cache=False)
    assert [s.status for s in third.steps] == ["SUCCEEDED"] * 5
    assert [s.output_digest for s in third.steps] == [s.output_digest for s in first.steps]


def retries_with_backoff_then_succeeds(executor: str, scratch: Path) -> None:
    from loopml.pipelines import output

    info = _run("retrying", executor, scratch=str(scratch))
    assert info.status == "SUCCEEDED", info.error
    assert info.step("flaky").attempts == 3
    assert output(info.id, "flaky") == 2


def a_step_past_its_timeout_is_stopped_and_fails(executor: str, scratch: Path) -> None:
    started = time.monotonic()
    info = _run("timing_out", executor, scratch=str(scratch))
    assert info.status == "FAILED"
    assert "timeout of 0.5 s" in info.step("sleeper").error
    assert time.monotonic() - started < 25, "the timed-out step was not stopped"
    assert "sleeper-woke" not in _counts(scratch)


def a_step_that_raises_fails_with_its_name_and_last_lines(executor: str, scratch: Path) -> None:
    info = _run("failing", executor)
    assert info.status == "FAILED"
    assert "step 'boom' failed" in info.error
    assert "ValueError: the input had no churners" in info.error
    assert info.step("summarize").status == "SUCCEEDED"
    assert info.step("finish").status == "PENDING"  # downstream of the failure never ran


def an_unstorable_output_names_the_step_and_type(executor: str, scratch: Path) -> None:
    info = _run("unstorable", executor)
    assert info.status == "FAILED"
    assert f"step 'opaque' returned a {P}.Opaque" in info.step("opaque").error


def a_killed_worker_fails_its_step_not_the_orchestrator(executor: str, scratch: Path) -> None:
    info = _run("crashing", executor)
    assert info.status == "FAILED"
    error = info.step("die").error
    assert "step 'die'" in error and "died" in error, error
    assert info.step("summarize").status == "SUCCEEDED"  # the independent branch still ran


def independent_branches_run_at_the_same_time(executor: str, scratch: Path) -> None:
    from loopml.pipelines import make_executor, output

    probe = make_executor(executor)
    parallel = probe.max_parallel
    probe.close()
    if parallel < 2:
        return
    info = _run("two_branches", executor, scratch=str(scratch))
    assert info.status == "SUCCEEDED", info.error
    (s1, e1), (s2, e2) = output(info.id, "overlap"), output(info.id, "overlap-2")
    assert s1 < e2 and s2 < e1, "independent steps ran one after the other"


# -- orchestrator crashes: a real subprocess, really killed --------------------------------------
def _orchestrator(executor: str, scratch: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    code = ("import sys; from loopml.pipelines import run; "
            f"info = run('{P}:chain', executor={executor!r}, params={{'scratch': {str(scratch)!r}, 'hold': 60}}); "
            "sys.exit(0 if info.status == 'SUCCEEDED' else 1)")
    return subprocess.Popen([sys.executable, "-c", code], env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"orchestrator exited early: {proc.communicate()[1][-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.02)


def _only_execution() -> str:
    from loopml.pipelines import list_executions

    rows = list_executions()
    assert len(rows) == 1, rows
    return str(rows[0]["id"])


def _golden_total() -> int:
    values = [v * 2 + 1 for v in range(50)]
    return sum(values)


def resume_after_the_orchestrator_is_killed_reruns_only_unfinished_steps(executor: str, scratch: Path) -> None:
    from loopml.core import context
    from loopml.core.integrity import fsck
    from loopml.pipelines import get_execution, output, resume

    proc = _orchestrator(executor, scratch)
    try:
        _wait_for(scratch / "c.ready", proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    eid = _only_execution()
    assert get_execution(eid).status == "RUNNING"
    (scratch / "release").write_text("go")
    info = resume(eid, executor=executor)
    assert info.status == "SUCCEEDED" and info.resume_count == 1, info.error
    seen = _counts(scratch)
    assert seen["a"] == seen["b"] == 1, seen
    assert 1 <= seen["c"] <= 2 and seen["d"] == seen["e"] == 1, seen
    assert output(eid, "e") == {"total": _golden_total()}
    assert fsck(context.get_db(), context.get_artifacts()).ok


def a_stalled_orchestrator_is_fenced_out(executor: str, scratch: Path) -> None:
    from loopml.config import reset_settings
    from loopml.core import context
    from loopml.pipelines import get_execution, resume

    saved = os.environ.get("LOOPML_LEASE_TTL")
    os.environ["LOOPML_LEASE_TTL"] = "1"
    reset_settings()
    proc = _orchestrator(executor, scratch)
    try:
        _wait_for(scratch / "c.ready", proc)
        os.kill(proc.pid, signal.SIGSTOP)
        time.sleep(1.5)
        eid = _only_execution()
        (scratch / "release").write_text("go")
        info = resume(eid, executor=executor)
        assert info.status == "SUCCEEDED", info.error
        os.kill(proc.pid, signal.SIGCONT)
        _, err = proc.communicate(timeout=90)
        assert proc.returncode != 0 and "StaleEpoch" in err, err[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if saved is None:
            os.environ.pop("LOOPML_LEASE_TTL", None)
        else:
            os.environ["LOOPML_LEASE_TTL"] = saved
        reset_settings()
    final = get_execution(eid)
    assert final.status == "SUCCEEDED"
    assert [s.output_digest for s in final.steps] == [s.output_digest for s in info.steps]
    seen = _counts(scratch)
    assert seen["c"] == 2 and seen["d"] == seen["e"] == 1, seen
    import sqlalchemy as sa

    with context.get_db().read() as conn:
        rows = conn.execute(sa.text("SELECT count(*) FROM step_executions WHERE execution_id = :e"),
                            {"e": eid}).scalar()
    assert rows == 5  # one committed row per step, never two


def _isolated(check: Check) -> Check:
    check.isolated = True  # type: ignore[attr-defined]
    return check


CONTRACT: list[Check] = [
    runs_the_dag_and_records_every_step,
    step_output_is_captured_in_its_record,
    a_false_condition_skips_the_branch,
    a_second_run_is_all_cache_hits_and_byte_identical,
    retries_with_backoff_then_succeeds,
    a_step_past_its_timeout_is_stopped_and_fails,
    a_step_that_raises_fails_with_its_name_and_last_lines,
    an_unstorable_output_names_the_step_and_type,
    _isolated(a_killed_worker_fails_its_step_not_the_orchestrator),
    independent_branches_run_at_the_same_time,
    resume_after_the_orchestrator_is_killed_reruns_only_unfinished_steps,
    a_stalled_orchestrator_is_fenced_out,
]
"""Every check, in a stable order."""


def is_isolated(executor: str) -> bool:
    """Whether the back end runs steps outside the orchestrator's process (class attribute ``isolated``)."""
    module, _, cls = EXECUTORS[executor].partition(":")
    return bool(getattr(getattr(import_module(module), cls), "isolated", True))


def contract_for(executor: str) -> list[Check]:
    """The checks that apply to the named back end."""
    isolated = is_isolated(executor)
    return [c for c in CONTRACT if isolated or not getattr(c, "isolated", False)]
