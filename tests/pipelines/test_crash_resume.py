"""Crash and resume of the orchestrator (RELIABILITY cases 1-4), with real SIGKILL and SIGSTOP."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from loopml.config import reset_settings
from loopml.core import context
from loopml.core.integrity import fsck, gc
from loopml.errors import StaleEpoch
from loopml.pipelines import get_execution, list_executions, reap, resume, run
from tests.pipelines.conftest import Orchestrator, counts

CHAIN = "tests.pipelines.resources.basic:chain"
pytestmark = pytest.mark.slow


def _golden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    log = os.environ.pop("EXEC_LOG")
    monkeypatch.setenv("LOOPML_HOME", str(tmp_path / "golden-home"))
    reset_settings()
    digests = [s.output_digest for s in run(CHAIN, executor="inline").steps]
    monkeypatch.setenv("LOOPML_HOME", str(tmp_path / "loopml-home"))
    monkeypatch.setenv("EXEC_LOG", log)
    reset_settings()
    return digests


def _only_execution() -> str:
    rows = list_executions()
    assert len(rows) == 1
    return rows[0]["id"]


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.2, 0.5, 1.0])
def test_kill_the_orchestrator_mid_step_then_resume(
    home: Path, exec_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, orchestrators: list, delay: float,
) -> None:
    """Case 1: steps 1-2 are not re-run, step 3 runs at most twice, 4-5 once, digests equal the golden run."""
    golden = _golden(tmp_path, monkeypatch)
    ready = tmp_path / "ready"
    orch = Orchestrator(CHAIN, env={"READY_FILE": str(ready), "SLOW_SECONDS": "1.5"})
    orchestrators.append(orch)
    orch.wait_for(ready)
    time.sleep(delay)
    orch.kill()
    eid = _only_execution()
    assert get_execution(eid).status == "RUNNING"
    monkeypatch.setenv("SLOW_SECONDS", "0")
    info = resume(eid, executor="local")
    assert info.status == "SUCCEEDED" and info.resume_count == 1
    assert [s.output_digest for s in info.steps] == golden
    seen = counts(exec_log)
    assert seen["a"] == seen["b"] == 1
    assert 1 <= seen["c"] <= 2
    assert seen["d"] == seen["e"] == 1
    assert fsck(context.get_db(), context.get_artifacts()).ok


@pytest.mark.parametrize("fault", ["after_blob_write:kill@3", "after_step_commit:kill@3", "before_step_commit:kill@3"])
def test_crash_between_blob_write_and_commit(
    home: Path, exec_log: Path, orchestrators: list, fault: str,
) -> None:
    """Case 2: no row points at a missing blob; resume creates no duplicate step rows; orphans are collected."""
    orch = Orchestrator(CHAIN, executor="inline", env={"LOOPML_FAULTS": fault})
    orchestrators.append(orch)
    code, _ = orch.finish()
    assert code == -signal.SIGKILL
    db, store = context.get_db(), context.get_artifacts()
    assert fsck(db, store).missing == []
    info = resume(_only_execution(), executor="inline")
    assert info.status == "SUCCEEDED"
    with db.read() as conn:
        dupes = conn.execute(sa.text(
            "SELECT execution_id, step, count(*) FROM step_executions GROUP BY execution_id, step HAVING count(*) > 1"
        )).all()
    assert dupes == []
    orphan = store.put_bytes(b"written by a writer that crashed before committing")
    report = fsck(db, store)
    assert report.ok and orphan.sha256 in report.orphans
    assert gc(db, store, grace_seconds=0) == [orphan.sha256]
    assert fsck(db, store).orphans == []


def test_a_stalled_orchestrator_is_fenced_out(
    home: Path, exec_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, orchestrators: list,
) -> None:
    """Case 3: A is SIGSTOPped past its lease; B takes over (epoch 2) and finishes; A's commit is refused."""
    monkeypatch.setenv("LOOPML_LEASE_TTL", "1")
    ready = tmp_path / "ready"
    orch = Orchestrator(CHAIN, executor="inline", env={"READY_FILE": str(ready), "SLOW_SECONDS": "2"})
    orchestrators.append(orch)
    orch.wait_for(ready)
    os.kill(orch.proc.pid, signal.SIGSTOP)
    time.sleep(1.5)
    eid = _only_execution()
    monkeypatch.setenv("SLOW_SECONDS", "0")
    info = resume(eid, executor="inline")
    assert info.status == "SUCCEEDED"
    os.kill(orch.proc.pid, signal.SIGCONT)
    code, err = orch.finish()
    assert code != 0 and "StaleEpoch" in err
    final = get_execution(eid)
    assert final.status == "SUCCEEDED"
    assert [s.output_digest for s in final.steps] == [s.output_digest for s in info.steps]
    seen = counts(exec_log)
    assert seen["c"] == 2 and seen["d"] == seen["e"] == 1
    with context.get_db().read() as conn:
        epoch = conn.execute(sa.text("SELECT epoch FROM leases WHERE key = :k"), {"k": f"pe:{eid}"}).scalar()
    assert epoch is None  # released by B at the end
    with pytest.raises(StaleEpoch):
        from loopml.core import leases

        with context.get_db().write() as conn:
            leases.check(conn, leases.Lease(f"pe:{eid}", "someone", 1, info.started_at))


def test_a_dead_orchestrator_never_leaves_a_run_running_forever(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, orchestrators: list,
) -> None:
    """Case 4: after the lease lapses, the reaper marks the run FAILED(worker_lost); resume still finishes it."""
    monkeypatch.setenv("LOOPML_LEASE_TTL", "1")
    ready = tmp_path / "ready"
    orch = Orchestrator(CHAIN, env={"READY_FILE": str(ready), "SLOW_SECONDS": "5", "LOOPML_LEASE_TTL": "1"})
    orchestrators.append(orch)
    orch.wait_for(ready)
    orch.kill()
    eid = _only_execution()
    assert reap() == []  # the lease has not lapsed yet
    time.sleep(1.3)
    assert reap() == [eid]
    info = get_execution(eid)
    assert info.status == "FAILED" and info.error.startswith("worker_lost")
    monkeypatch.setenv("SLOW_SECONDS", "0")
    assert resume(eid, executor="inline").status == "SUCCEEDED"
