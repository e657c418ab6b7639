"""The scheduler: each slot runs once (across ticks, restarts and two racing schedulers), takeover with
fencing after a scheduler dies, pipeline schedules, and the ``--once`` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest

from loopml import monitor, pipelines
from loopml.core import clock, context, leases
from loopml.errors import StaleEpoch
from loopml.monitor import scheduler
from tests.monitor.conftest import make_frame


def _monitor_schedules(count: int, *, every: float = 60.0) -> list:
    b = monitor.create_baseline(make_frame(300, 1))
    return [monitor.create_monitoring_schedule(
        f"dq-{i}", "ep", statistics=b.statistics_digest, constraints=b.constraints_digest, interval_seconds=every,
        window_seconds=every, check_signature=False) for i in range(count)]


def test_a_due_slot_runs_once_across_ticks_and_restarts(home):
    (sched,) = _monitor_schedules(1, every=600)
    # a second after the next 600 s boundary, so "30 s later" never crosses into the following slot
    now = clock.now() + timedelta(seconds=601 - clock.now().timestamp() % 600)
    first = scheduler.tick(now=now, owner="a")
    assert [(r.schedule, r.status) for r in first.ran] == [("dq-0", "DONE")]
    assert first.ran[0].result["result"] == "insufficient_data"
    assert scheduler.tick(now=now, owner="a").ran == []
    assert scheduler.tick(now=now + timedelta(seconds=30), owner="restarted").ran == []
    later = scheduler.tick(now=now + timedelta(seconds=600), owner="restarted")
    assert len(later.ran) == 1 and later.ran[0].slot == first.ran[0].slot + timedelta(seconds=600)
    assert [s["status"] for s in scheduler.slot_history(sched.id)] == ["DONE", "DONE"]
    assert len(monitor.list_executions(schedule="dq-0")) == 2


def test_paused_schedules_do_not_run(home):
    _monitor_schedules(1)
    monitor.set_enabled("dq-0", False)
    assert scheduler.tick(now=clock.now()).ran == []
    monitor.set_enabled("dq-0", True)
    assert len(scheduler.tick(now=clock.now()).ran) == 1


def test_pipeline_schedule_runs_the_pipeline(home):
    monitor.create_pipeline_schedule("weekly", "tests.monitor.retrain_pipeline:retrain", interval_seconds=3600,
                                     params={"reason": "weekly"})
    (ran,) = scheduler.tick(now=clock.now()).ran
    execution = pipelines.get_execution(ran.result["execution_id"])
    assert (ran.status, execution.status, execution.params["reason"]) == ("DONE", "SUCCEEDED", "weekly")


def test_a_failing_schedule_is_recorded_and_the_tick_goes_on(home):
    monitor.create_pipeline_schedule("broken", "tests.monitor.no_such_module:retrain", interval_seconds=3600)
    _monitor_schedules(1)
    result = scheduler.tick(now=clock.now())
    assert sorted((r.schedule, r.status) for r in result.ran) == [("broken", "FAILED"), ("dq-0", "DONE")]
    assert result.errors and "broken" in result.errors[0]


def test_a_dead_schedulers_slot_is_taken_over_and_its_late_commit_fenced(home):
    (sched,) = _monitor_schedules(1)
    now = clock.now()
    slot = sched.latest_slot(now)
    with context.get_db().write() as conn:
        dead = scheduler._claim(conn, sched, slot, "dead-scheduler")
    assert scheduler.tick(now=now, owner="alive").ran == []  # the claim is live: nobody else runs it
    with context.get_db().write() as conn:
        leases.expire_now(conn, dead.key)  # its owner stopped renewing
    (ran,) = scheduler.tick(now=now, owner="alive").ran
    assert ran.slot == slot
    with pytest.raises(StaleEpoch):
        scheduler._finish(dead, sched, slot, "DONE", {"late": True})
    (row,) = scheduler.slot_history(sched.id)
    assert (row["owner"], row["epoch"], row["status"]) == ("alive", 2, "DONE") and "late" not in row["result"]


RACER = textwrap.dedent("""
    import json, sys
    from datetime import datetime, timedelta
    from loopml.monitor import scheduler
    start = datetime.fromisoformat(sys.argv[1])
    for k in range(int(sys.argv[2])):
        result = scheduler.tick(now=start + timedelta(seconds=60 * k), events=False)
        for r in result.ran:
            print(json.dumps([r.schedule, r.slot.isoformat(), r.status]), flush=True)
""")


@pytest.mark.slow
def test_two_schedulers_racing_on_the_same_slots_run_each_once(home):
    """RELIABILITY §1 (leases with fencing): two real scheduler processes, 4 schedules x 10 slots."""
    _monitor_schedules(4)
    start, slots = clock.now(), 10
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    procs = [subprocess.Popen([sys.executable, "-c", RACER, start.isoformat(), str(slots)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outputs]
    runs = [tuple(json.loads(line)) for out, _ in outputs for line in out.splitlines()]
    assert len(runs) == len(set(runs)) == 4 * slots
    assert all(status == "DONE" for *_, status in runs)
    per_process = [len(out.splitlines()) for out, _ in outputs]
    assert sum(per_process) == 40
    assert len(monitor.list_executions(limit=1000)) == 40


def test_scheduler_once_command(home):
    _monitor_schedules(1)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    code = "from loopml.cli.monitor import scheduler; import typer; typer.run(scheduler)"
    out = subprocess.run([sys.executable, "-c", code, "--once"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [r["schedule"] for r in doc["ran"]] == ["dq-0"]


def test_a_lost_claim_on_a_slot_no_longer_due_is_marked_failed(home):
    (sched,) = _monitor_schedules(1, every=60)
    now = clock.now()
    old = sched.latest_slot(now)
    with context.get_db().write() as conn:
        lease = scheduler._claim(conn, sched, old, "dead-scheduler")
        leases.expire_now(conn, lease.key)
    later = scheduler.tick(now=now + timedelta(seconds=120), owner="alive")
    assert len(later.ran) == 1
    first, _ = scheduler.slot_history(sched.id)
    assert first["status"] == "FAILED" and "scheduler_lost" in first["result"]["error"]
