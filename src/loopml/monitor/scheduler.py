"""The scheduler: one long-running process (or one ``--once`` pass) that runs whatever is due.

Each :func:`tick`:

1. reaps pipeline executions whose orchestrator died (:func:`loopml.pipelines.reap`);
2. for every enabled schedule, claims its latest due slot and runs it — a monitoring window or a
   pipeline run. A slot is claimed by inserting its row (unique on schedule and slot time) together with
   a lease; a second scheduler finds the row and skips it, so a slot runs once even with two schedulers.
   If the claimer dies, its lease lapses and another scheduler takes the slot over with a higher fencing
   epoch; the dead one's late commit is refused (:class:`~loopml.errors.StaleEpoch`), and the monitoring
   execution id is derived from the slot, so a re-run slot still records one execution;
3. samples the live metrics of endpoints that alarms watch, evaluates every alarm, and
4. hands new events to the rules (:func:`loopml.events.process_events`).

Restarting loses nothing: the slots table says which slots ran.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.config import get_settings
from loopml.core import checks, clock, context, leases
from loopml.core.rows import insert_ignore
from loopml.errors import LoopmlError, StaleEpoch
from loopml.events import process_events
from loopml.monitor._tables import slots
from loopml.monitor.schedules import Schedule, list_schedules

log = logging.getLogger("loopml.scheduler")


@dataclass(frozen=True)
class SlotRun:
    """One slot this scheduler ran: the schedule, the slot time, the status and what it produced."""

    schedule: str
    slot: datetime
    status: str
    result: dict[str, Any]


@dataclass(frozen=True)
class TickResult:
    """What one tick did."""

    ran: list[SlotRun] = field(default_factory=list)
    reaped: list[str] = field(default_factory=list)
    transitions: list[Any] = field(default_factory=list)
    actions: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def default_owner() -> str:
    """``host:pid:random`` naming this scheduler in slot rows and leases."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def lease_ttl() -> float:
    """Seconds a claimed slot stays ours without finishing (``LOOPML_SCHEDULER_LEASE_TTL``, default 900)."""
    return get_settings().scheduler_lease_ttl


def tick(*, now: datetime | None = None, owner: str | None = None, events: bool = True) -> TickResult:
    """Run everything due at ``now`` once.

    Args:
        now: The time to act at (default: the clock); tests pass fixed times.
        owner: This scheduler's identity (default :func:`default_owner`).
        events: Also sample endpoint metrics, evaluate alarms and process events.

    Returns:
        A :class:`TickResult`.
    """
    from loopml import pipelines

    now, owner = clock.as_utc(now or clock.now()), owner or default_owner()
    result = TickResult(reaped=pipelines.reap())
    due = [(s, slot) for s in list_schedules(enabled_only=True) if (slot := s.latest_slot(now)) is not None]
    _reap_slots(due)
    finished = _finished(due)
    for sched, slot in due:
        if (sched.id, slot) not in finished:
            _run_slot(sched, slot, owner, result)
    if events:
        _alarms_and_events(now, result)
    return result


def run(*, poll_seconds: float = 10.0, once: bool = False, max_ticks: int | None = None) -> int:
    """Tick every ``poll_seconds`` until SIGTERM/SIGINT (or once); returns the number of ticks."""
    poll_seconds = checks.number(poll_seconds, "poll_seconds", above=0, high=86400)
    owner, stop, ticks = default_owner(), {"now": False}, 0

    def _stop(*_: Any) -> None:
        stop["now"] = True

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stop["now"]:
            started = time.monotonic()
            outcome = tick(owner=owner)
            ticks += 1
            for item in outcome.ran:
                log.info("ran %s slot %s: %s", item.schedule, item.slot.isoformat(), item.status)
            if once or (max_ticks is not None and ticks >= max_ticks):
                break
            _sleep(max(0.0, poll_seconds - (time.monotonic() - started)), stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return ticks


def slot_history(schedule_id: str) -> list[dict[str, Any]]:
    """The claimed slots of a schedule, oldest first (status, owner, epoch, result)."""
    with context.get_db().read() as conn:
        rows = conn.execute(sa.select(slots).where(slots.c.schedule_id == schedule_id).order_by(slots.c.slot))
        return [{"slot": clock.as_utc(r.slot).isoformat(), "status": r.status, "owner": r.owner, "epoch": r.epoch,
                 "result": r.result} for r in rows]


def execution_id_for(schedule_id: str, slot: datetime) -> str:
    """The monitoring execution id of a slot (the same for every attempt at that slot)."""
    return "mex_" + hashlib.sha256(f"{schedule_id}|{slot.isoformat()}".encode()).hexdigest()[:32]


def _reap_slots(due: list[tuple[Schedule, datetime]]) -> None:
    """Mark FAILED (scheduler_lost) the claimed slots whose lease lapsed and that are no longer due."""
    current = {(s.id, slot) for s, slot in due}
    with context.get_db().write() as conn:
        for row in conn.execute(sa.select(slots).where(slots.c.status == "CLAIMED")).all():
            slot = clock.as_utc(row.slot)
            lease = leases.holder(conn, f"sched:{row.schedule_id}:{slot.isoformat()}")
            if (row.schedule_id, slot) in current or (lease is not None and lease.expires_at > clock.now()):
                continue
            conn.execute(slots.update().where(slots.c.schedule_id == row.schedule_id, slots.c.slot == row.slot)
                         .values(status="FAILED", ended_at=clock.now(),
                                 result={"error": f"scheduler_lost: {row.owner} stopped before finishing"}))


def _finished(due: list[tuple[Schedule, datetime]]) -> set[tuple[str, datetime]]:
    """Due slots already DONE or FAILED (one read, so an idle tick costs no write transactions)."""
    if not due:
        return set()
    query = sa.select(slots.c.schedule_id, slots.c.slot).where(
        slots.c.schedule_id.in_({s.id for s, _ in due}), slots.c.slot.in_({slot for _, slot in due}),
        slots.c.status != "CLAIMED")
    with context.get_db().read() as conn:
        return {(r.schedule_id, clock.as_utc(r.slot)) for r in conn.execute(query)}


def _sleep(seconds: float, stop: dict[str, bool]) -> None:
    deadline = time.monotonic() + seconds
    while not stop["now"] and time.monotonic() < deadline:
        time.sleep(min(0.2, deadline - time.monotonic()))


def _run_slot(sched: Schedule, slot: datetime, owner: str, result: TickResult) -> None:
    try:
        with context.get_db().write() as conn:
            lease = _claim(conn, sched, slot, owner)
    except (sa.exc.IntegrityError, LoopmlError) as exc:  # lost a race on another back end, or the store is busy
        log.debug("slot %s of %s not claimed: %s", slot, sched.name, exc)
        return
    if lease is None:
        return
    heartbeat = _Heartbeat(lease)
    try:
        status, detail = "DONE", _execute(sched, slot)
    except Exception as exc:  # a failing schedule is recorded and never stops the scheduler
        status, detail = "FAILED", {"error": f"{type(exc).__name__}: {exc}"[:1000]}
        result.errors.append(f"{sched.name}: {detail['error']}")
    finally:
        lease = heartbeat.stop()
    try:
        _finish(lease, sched, slot, status, detail)
    except StaleEpoch:
        log.warning("slot %s of %s was taken over; our result is discarded", slot, sched.name)
        return
    result.ran.append(SlotRun(sched.name, slot, status, detail))


class _Heartbeat:
    """Renews a slot's lease every third of its TTL while the slot runs (a long retraining keeps its slot)."""

    def __init__(self, lease: leases.Lease) -> None:
        self.lease, self._done = lease, threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease:{lease.key}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(lease_ttl() / 3):
            try:
                with context.get_db().write() as conn:
                    self.lease = leases.renew(conn, self.lease, ttl=lease_ttl())
            except StaleEpoch:
                return  # taken over: our commit will be refused
            except LoopmlError as exc:  # a busy store: try again next beat
                log.warning("could not renew %s: %s", self.lease.key, exc)

    def stop(self) -> leases.Lease:
        self._done.set()
        self._thread.join()
        return self.lease


def _claim(conn: Connection, sched: Schedule, slot: datetime, owner: str) -> leases.Lease | None:
    key = f"sched:{sched.id}:{slot.isoformat()}"
    row = conn.execute(sa.select(slots).where(slots.c.schedule_id == sched.id, slots.c.slot == slot)).first()
    if row is not None and row.status != "CLAIMED":
        return None
    lease = leases.acquire(conn, key, owner, ttl=lease_ttl())
    if lease is None:
        return None
    values = dict(schedule_id=sched.id, slot=slot, status="CLAIMED", owner=owner, epoch=lease.epoch,
                  claimed_at=clock.now())
    if row is None:
        if not insert_ignore(conn, slots, values):
            return None
    else:
        conn.execute(slots.update().where(slots.c.schedule_id == sched.id, slots.c.slot == slot)
                     .values(owner=owner, epoch=lease.epoch, claimed_at=values["claimed_at"]))
    return lease


def _execute(sched: Schedule, slot: datetime) -> dict[str, Any]:
    if sched.kind == "pipeline":
        from loopml import pipelines

        info = pipelines.run(sched.config["pipeline"], params=sched.config.get("params") or {},
                             executor=sched.config.get("executor", "inline"))
        if info.status != "SUCCEEDED":
            raise RuntimeError(f"pipeline execution {info.id} ended {info.status}: {info.error}")
        return {"execution_id": info.id, "execution_status": info.status}
    from loopml.monitor.executions import run_monitor

    if context.get_settings().cluster:  # the check runs on a cluster node; the record is the same
        from loopml.monitor._ray import run_monitor_on_cluster

        ex = run_monitor_on_cluster(sched.name, window_end=slot, execution_id=execution_id_for(sched.id, slot))
    else:
        ex = run_monitor(sched, window_end=slot, execution_id=execution_id_for(sched.id, slot))
    return {"execution_id": ex.id, "status": ex.status, "result": ex.result, "violations": ex.violations}


def _finish(lease: leases.Lease, sched: Schedule, slot: datetime, status: str, detail: dict[str, Any]) -> None:
    with context.get_db().write() as conn:
        leases.check(conn, lease)
        conn.execute(slots.update().where(slots.c.schedule_id == sched.id, slots.c.slot == slot)
                     .values(status=status, result=detail, ended_at=clock.now()))
        leases.release(conn, lease)


def _alarms_and_events(now: datetime, result: TickResult) -> None:
    from loopml.monitor import metric_alarms

    watched = {a.source.split(":", 1)[1] for a in metric_alarms.list_alarms()
               if a.source.startswith("endpoint:") and a.metric in metric_alarms.ENDPOINT_METRICS}
    for endpoint in sorted(watched | set(metric_alarms.endpoints_due_for_history(now))):
        try:
            metric_alarms.sample_endpoint_metrics(endpoint, now=now)
        except LoopmlError as exc:
            result.errors.append(f"endpoint {endpoint}: {exc.message}")
    result.transitions.extend(metric_alarms.evaluate_alarms(now=now))
    result.actions.extend(process_events(now=now))
