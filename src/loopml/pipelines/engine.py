"""The orchestrator: runs a pipeline's DAG on an executor, records everything, resumes after a crash.

Guarantees (RELIABILITY.md §1): a step's result is committed by the orchestrator, keyed by
(execution, step), only while it holds the execution's lease (fencing epoch); a crashed run is resumed
by re-running only the steps that had not succeeded; outputs are content-addressed, so reused outputs are
byte-identical. Delivery is at-least-once: a step interrupted by a crash may run again on resume.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any

from sqlalchemy.engine import Connection

from loopml.config import get_settings
from loopml.core import audit, checks, clock, context, faults, leases, logs
from loopml.core.artifacts import ArtifactRef
from loopml.core.integrity import record_artifact
from loopml.errors import ConflictError, IntegrityError, StaleEpoch, ValidationError
from loopml.pipelines import _params, _records, _serde
from loopml.pipelines._code import code_hash, git_info, load_ref, portable_ref, source_file
from loopml.pipelines._records import DONE, TERMINAL, ExecutionInfo
from loopml.pipelines._sdk import Node, Output, Pipeline
from loopml.pipelines._task import StepResult, StepTask
from loopml.pipelines.executors import Executor, check_executor, make_executor

EventHook = Callable[..., None]


_log = logs.stage_logger("pipelines")


def _progress(on_event: EventHook | None) -> EventHook:
    """The run's progress hook: each step and execution change is also one log line, then ``on_event``."""
    def emit(kind: str, **fields: Any) -> None:
        phase = "start" if fields.get("status") == "RUNNING" else "end"
        logs.log_event(_log, f"{kind}.{phase}", **fields)
        if on_event is not None:
            on_event(kind, **fields)
    return emit


def lease_ttl() -> float:
    """Seconds an orchestrator's lease lasts without a heartbeat (``LOOPML_LEASE_TTL``, default 30)."""
    return get_settings().lease_ttl


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _definition(pipe: Pipeline, nodes: dict[str, Node]) -> tuple[dict[str, Any], str]:
    steps = {}
    for node in nodes.values():
        steps[node.id] = {
            "fn": portable_ref(node.spec.fn),
            "code_hash": code_hash(node.spec.fn),
            "upstream": sorted(node.upstream()),
            "args": {k: v.to_dict() if isinstance(v, Output) else "literal" for k, v in node.args.items()},
            "conditions": [c.describe() for c in node.conditions],
            "retries": node.spec.retries, "timeout": node.spec.timeout, "cache": node.spec.cache,
        }
        if node.spec.resources:  # only when asked for, so older definitions keep their hash
            steps[node.id]["resources"] = node.spec.resources
    definition = {"name": pipe.name, "steps": steps}
    digest = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()
    return definition, digest


def _make_executor(executor: str | Executor | None) -> tuple[Executor, bool]:
    if executor is None or isinstance(executor, str):
        return make_executor(executor), True
    return executor, False


def _resolve_pipeline(pipe: Pipeline | str) -> Pipeline:
    obj = load_ref(pipe) if isinstance(pipe, str) else pipe
    if not isinstance(obj, Pipeline):
        raise ValidationError(f"{pipe!r} is not a @pipeline function")
    return obj


def run(pipe: Pipeline | str, *, params: dict[str, Any] | None = None, executor: str | Executor | None = None,
        cache: bool = True, on_event: EventHook | None = None) -> ExecutionInfo:
    """Run a pipeline and wait for it to finish.

    Args:
        pipe: a ``@pipeline`` function or its reference ``MODULE:NAME`` / ``path/file.py:NAME``.
        params: parameter overrides (strings are parsed by the parameter's annotated type).
        executor: a name from :data:`~loopml.pipelines.executors.EXECUTORS` (``"local"``: worker processes,
            ``"inline"``: this process, ``"ray"``: the cluster), an :class:`Executor`, or None for the
            default (``ray`` when a cluster is configured, else ``local``).
        cache: reuse earlier results of identical steps (``False`` re-runs everything).
        on_event: called as ``on_event(event, execution_id=..., step=..., status=...)`` for live progress.

    Returns:
        The recorded execution; its ``status`` is ``SUCCEEDED`` or ``FAILED`` (a step's failure does not raise).
    """
    if isinstance(executor, str):
        check_executor(executor)
    pipe = _resolve_pipeline(pipe)
    resolved = _params.resolve(pipe.signature, params or {}, pipeline=pipe.name)
    nodes = pipe.build(resolved)
    definition, digest = _definition(pipe, nodes)
    db, user, owner = context.get_db(), context.current_user(), _owner()
    with db.write() as conn:
        pipeline_id = _records.upsert_pipeline(conn, pipe.name, portable_ref(pipe.fn), digest, definition)
        eid = _records.create_execution(
            conn, pipeline_id=pipeline_id, name=pipe.name, params=_jsonable(resolved),
            code=_code_identity(pipe), user=user, cache=cache,
            steps={n: s["code_hash"] for n, s in definition["steps"].items()})
        lease = leases.acquire(conn, f"pe:{eid}", owner, ttl=lease_ttl())
        audit.append(conn, actor=user, action="pipeline.run", resource=f"execution:{eid}",
                     details={"pipeline": pipe.name, "definition_hash": digest, "params": _jsonable(resolved)})
    assert lease is not None
    return _Run(eid, nodes, lease, executor, cache, on_event).drive()


def _code_identity(pipe: Any) -> dict[str, Any]:
    """The git identity of the pipeline's file and the environment it runs in (the lock reproduce checks)."""
    from loopml.core.environment import environment_info

    return {**git_info(source_file(pipe.fn)), "environment": environment_info()}


def resume(execution_id: str, *, executor: str | Executor | None = None,
           on_event: EventHook | None = None) -> ExecutionInfo:
    """Finish an execution whose orchestrator died: only steps that had not succeeded run again.

    ``executor`` is as for :func:`run`.

    Raises:
        ConflictError: the execution is still running under a live orchestrator, or its code changed.
    """
    if isinstance(executor, str):
        check_executor(executor)
    db = context.get_db()
    with db.read() as conn:
        ref, definition, params, cache = _records.execution_ref(conn, execution_id)
        info = _records.get_execution(conn, execution_id)
    if info.status == "SUCCEEDED":
        return info
    pipe = _resolve_pipeline(ref)
    nodes = pipe.build(params)
    _, digest = _definition(pipe, nodes)
    if digest != info.definition_hash:
        raise ConflictError(
            f"the code of pipeline {pipe.name!r} changed since execution {execution_id} started "
            f"(definition {info.definition_hash[:12]} -> {digest[:12]}); start a new run instead",
        )
    owner = _owner()
    with db.write() as conn:
        lease = _take_over(conn, execution_id, owner)
        _records.set_execution(conn, execution_id, status="RUNNING", error=None, ended_at=None,
                               resume_count=info.resume_count + 1)
        for step in info.steps:
            if step.status not in DONE and step.status != "SKIPPED":
                _records.set_step(conn, execution_id, step.step, status="PENDING", error=None)
        audit.append(conn, actor=context.current_user(), action="pipeline.resume",
                     resource=f"execution:{execution_id}", details={"epoch": lease.epoch})
    return _Run(execution_id, nodes, lease, executor, cache, on_event).drive()


def _take_over(conn: Any, execution_id: str, owner: str) -> leases.Lease:
    key = f"pe:{execution_id}"
    lease = leases.acquire_from_dead(conn, key, owner, ttl=lease_ttl())
    if lease is not None:
        return lease
    holder = leases.holder(conn, key)
    raise ConflictError(
        f"execution {execution_id} is still running (orchestrator {holder.owner if holder else '?'}); "
        f"wait for it, or for its lease to lapse ({lease_ttl():g} s without a heartbeat)",
    )


def reap(*, now: float | None = None) -> list[str]:
    """Mark RUNNING executions whose orchestrator stopped heartbeating as FAILED (worker_lost).

    Returns the ids it marked. The scheduler calls this every tick; ``loopml pipeline reap`` runs it once.
    """
    db = context.get_db()
    lost = []
    with db.write() as conn:
        expired = {lease.key for lease in leases.expired(conn, "pe:")}
        for eid in _records.running_execution_ids(conn):
            if f"pe:{eid}" in expired:
                _records.set_execution(conn, eid, status="FAILED", ended_at=clock.now(), error=(
                    "worker_lost: the orchestrator stopped heartbeating; "
                    f"finish it with 'loopml pipeline resume {eid}'"))
                lost.append(eid)
                audit.append(conn, actor="automation:reaper", action="pipeline.worker_lost",
                             resource=f"execution:{eid}")
    return lost


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(json.dumps(params, default=str)))


class _Heartbeat(threading.Thread):
    def __init__(self, lease: leases.Lease) -> None:
        super().__init__(daemon=True, name="loopml-heartbeat")
        self.lease, self.stale, self._stop = lease, False, threading.Event()

    def run(self) -> None:
        ttl = lease_ttl()
        while not self._stop.wait(ttl / 3):
            try:
                with context.get_db().write() as conn:
                    self.lease = leases.renew(conn, self.lease, ttl=ttl)
            except StaleEpoch:
                self.stale = True
                return
            except Exception:  # noqa: BLE001 - a missed beat is retried; the lease check fences commits
                continue

    def stop(self) -> None:
        self._stop.set()


class _Run:
    """Drives one execution to a terminal state."""

    def __init__(self, eid: str, nodes: dict[str, Node], lease: leases.Lease, executor: str | Executor | None,
                 cache: bool, on_event: EventHook | None) -> None:
        self.eid, self.nodes, self.cache = eid, nodes, cache
        self.executor_arg = executor
        self.db, self.store, self.user = context.get_db(), context.get_artifacts(), context.current_user()
        self.emit = _progress(on_event)
        self.heartbeat = _Heartbeat(lease)
        with self.db.read() as conn:
            info = _records.get_execution(conn, eid)
        self.steps = {s.step: s for s in info.steps}
        self.status = {s.step: s.status for s in info.steps}
        self.outputs = {s.step: (s.output_digest, s.output_media_type) for s in info.steps if s.status in DONE}
        self.attempts = {s.step: s.attempts for s in info.steps}
        self.not_before: dict[str, float] = {}

    @property
    def lease(self) -> leases.Lease:
        return self.heartbeat.lease

    def drive(self) -> ExecutionInfo:
        executor, owned = _make_executor(self.executor_arg)
        logs.log_event(_log, "execution.start", execution_id=self.eid, executor=getattr(executor, "name", None))
        self.heartbeat.start()
        running: dict[Future[StepResult], str] = {}
        try:
            while True:
                self._start_ready(executor, running)
                if not running:
                    if self._waiting_retry():
                        time.sleep(min(0.05, self._retry_delay()))
                        continue
                    break
                done, _ = wait(list(running), timeout=self._retry_delay() or None, return_when=FIRST_COMPLETED)
                for future in done:
                    self._finish(running.pop(future), future.result())
        finally:
            self.heartbeat.stop()
            if owned:
                executor.close()
        return self._close()

    # -- scheduling -------------------------------------------------------------------------------
    def _waiting_retry(self) -> bool:
        return any(self.status[s] == "PENDING" and s in self.not_before for s in self.status)

    def _retry_delay(self) -> float:
        pending = [t - time.monotonic() for s, t in self.not_before.items() if self.status[s] == "PENDING"]
        return max(0.0, min(pending)) if pending else 0.0

    def _start_ready(self, executor: Executor, running: dict[Future[StepResult], str]) -> None:
        progress = True
        while progress:
            progress = False
            for name, node in self.nodes.items():
                if self.status[name] != "PENDING" or len(running) >= executor.max_parallel:
                    continue
                if self.not_before.get(name, 0) > time.monotonic():
                    continue
                ups = [self.status[u] for u in node.upstream()]
                if any(s == "SKIPPED" for s in ups):
                    self._record(name, "SKIPPED", error="an upstream step was skipped")
                    progress = True
                elif all(s in DONE for s in ups):
                    progress |= self._start(node, executor, running)

    def _start(self, node: Node, executor: Executor, running: dict[Future[StepResult], str]) -> bool:
        for cond in node.conditions:
            value = self._value(cond.left)
            if not cond.evaluate(value):
                self._record(node.id, "SKIPPED", error=f"condition {cond.describe()} was false ({value!r})")
                return True
        inputs = {arg: {"digest": self.outputs[v.node][0], "media_type": self.outputs[v.node][1],
                        "path": list(v.path), "node": v.node}
                  for arg, v in node.args.items() if isinstance(v, Output)}
        literals = {k: v for k, v in node.args.items() if not isinstance(v, Output)}
        try:
            declared = node.spec.declared_inputs()
        except ValidationError as exc:
            self._record(node.id, "FAILED", error=str(exc))
            return True
        key = hashlib.sha256(json.dumps(
            {"code": code_hash(node.spec.fn), "inputs": inputs, "literals": literals, "declared": declared},
            sort_keys=True, default=repr,
        ).encode()).hexdigest()
        use_cache = self.cache and node.spec.cache
        with self.db.write() as conn:
            leases.check(conn, self.lease)
            hit = _records.find_cached(conn, key) if use_cache else None
            if hit is not None and self.store.exists(hit[0]):
                self._commit_in(conn, node.id, "CACHED", cache_hit=True, cache_key=key, inputs=inputs,
                                output_digest=hit[0], output_media_type=hit[1], started_at=clock.now(),
                                duration_ms=0.0)
            else:
                hit = None
                self.attempts[node.id] += 1
                _records.set_step(conn, self.eid, node.id, status="RUNNING", started_at=clock.now(),
                                  cache_key=key, inputs=inputs, attempts=self.attempts[node.id])
        if hit is not None:
            self.outputs[node.id] = hit
            self._committed(node.id, "CACHED")
            return True
        self.status[node.id] = "RUNNING"
        self.emit("step", execution_id=self.eid, step=node.id, status="RUNNING")
        task = StepTask(self.eid, node.id, portable_ref(node.spec.fn), literals, inputs,
                        node.spec.timeout, self.attempts[node.id], node.spec.resources)
        running[executor.submit(task)] = node.id
        return True

    def _value(self, out: Output) -> Any:
        digest, media_type = self.outputs[out.node]
        if digest is None or media_type is None:  # a finished step always records both
            raise IntegrityError(f"step {out.node!r} of execution {self.eid} is finished but records no output; "
                                 "run the pipeline again", execution_id=self.eid, step=out.node)
        return _serde.select(_serde.load(digest, media_type, self.store), out.path, node=out.node)

    # -- results ----------------------------------------------------------------------------------
    def _finish(self, name: str, result: StepResult) -> None:
        if self.heartbeat.stale:
            raise StaleEpoch(f"execution {self.eid} was taken over by another orchestrator; stopping")
        if result.ok:
            self.outputs[name] = (result.output_digest, result.output_media_type)
            self._commit(name, "SUCCEEDED", output_digest=result.output_digest, logs=result.logs,
                         output_media_type=result.output_media_type, duration_ms=result.duration_ms,
                         size=result.output_size)
            return
        spec = self.nodes[name].spec
        if self.attempts[name] <= spec.retries:
            self.not_before[name] = time.monotonic() + spec.retry_backoff * 2 ** (self.attempts[name] - 1)
            self._record(name, "PENDING", error=result.error, logs=result.logs)
            return
        self._record(name, "FAILED", error=result.error, logs=result.logs, ended_at=clock.now(),
                     duration_ms=result.duration_ms)

    def _commit(self, name: str, status: str, **values: Any) -> None:
        faults.point("before_step_commit")
        with self.db.write() as conn:
            leases.check(conn, self.lease)
            self._commit_in(conn, name, status, **values)
        faults.point("after_step_commit")
        self._committed(name, status)

    def _commit_in(self, conn: Any, name: str, status: str, *, size: int = 0, **values: Any) -> None:
        ref = ArtifactRef(values["output_digest"], size, "")
        record_artifact(conn, ref, media_type=values["output_media_type"], actor=self.user)
        _records.set_step(conn, self.eid, name, status=status, ended_at=clock.now(), error=None, **values)

    def _committed(self, name: str, status: str) -> None:
        self.status[name] = status
        self.emit("step", execution_id=self.eid, step=name, status=status)

    def _record(self, name: str, status: str, **values: Any) -> None:
        with self.db.write() as conn:
            leases.check(conn, self.lease)
            _records.set_step(conn, self.eid, name, status=status, **values)
        self.status[name] = status
        self.emit("step", execution_id=self.eid, step=name, status=status)

    def _close(self) -> ExecutionInfo:
        failed = [n for n, s in self.status.items() if s == "FAILED"]
        unfinished = [n for n, s in self.status.items() if s not in TERMINAL]
        status = "FAILED" if failed or unfinished else "SUCCEEDED"
        error = None
        if failed:
            with self.db.read() as conn:
                first = _records.get_execution(conn, self.eid).step(failed[0])
            error = f"step {failed[0]!r} failed:\n{first.error}"
        with self.db.write() as conn:
            leases.check(conn, self.lease)
            _records.set_execution(conn, self.eid, status=status, ended_at=clock.now(), error=error)
            leases.release(conn, self.lease)
            audit.append(conn, actor=context.current_user(), action="pipeline.finish",
                         resource=f"execution:{self.eid}", details={"status": status})
        self.emit("execution", execution_id=self.eid, status=status)
        with self.db.read() as conn:
            return _records.get_execution(conn, self.eid)


def get_execution(execution_id: str, *, conn: Connection | None = None) -> ExecutionInfo:
    """The recorded execution with its steps (read in ``conn`` when given, to join a caller's read)."""
    if conn is not None:
        return _records.get_execution(conn, execution_id)
    with context.get_db().read() as own:
        return _records.get_execution(own, execution_id)


EXECUTION_STATUSES = ("RUNNING", "SUCCEEDED", "FAILED")


def list_executions(*, name: str | None = None, status: str | None = None, limit: int = 50,
                    offset: int = 0, newest_first: bool = True) -> list[dict[str, Any]]:
    """Executions, newest first (or oldest first), paginated."""
    if status is not None and status not in EXECUTION_STATUSES:
        raise ValidationError(f"unknown execution status {status!r}; statuses are {', '.join(EXECUTION_STATUSES)}")
    limit, offset = checks.page(limit, offset)
    with context.get_db().read() as conn:
        return _records.list_executions(conn, name=name, status=status, limit=limit, offset=offset,
                                        newest_first=newest_first)


def output(execution_id: str, step: str) -> Any:
    """Load a step's output (hash verified)."""
    info = get_execution(execution_id).step(step)
    if info.output_digest is None:
        raise ValidationError(f"step {step!r} of {execution_id} has no output (status {info.status})")
    return _serde.load(info.output_digest, info.output_media_type or "", context.get_artifacts())


def known_pipelines() -> list[dict[str, Any]]:
    """Pipelines the platform has run before (the only ones the control plane may start by name)."""
    with context.get_db().read() as conn:
        return _records.known_pipelines(conn)


def execution_target(execution_id: str) -> tuple[str, dict[str, Any]]:
    """The pipeline reference (``module:name`` or ``file.py:name``) an execution ran and its parameters."""
    with context.get_db().read() as conn:
        ref, _definition, params, _cache = _records.execution_ref(conn, execution_id)
    return ref, dict(params)


def pipeline_ref(name: str) -> str:
    """The reference (``module:name`` or ``file.py:name``) of the newest definition of a known pipeline.

    Raises:
        NotFoundError: no pipeline of that name has run here; the message lists the known ones.
    """
    from loopml.errors import NotFoundError

    known = {p["name"]: p["ref"] for p in known_pipelines()}
    if name not in known:
        raise NotFoundError(f"no pipeline named {name!r} has run here; known pipelines: "
                            f"{', '.join(sorted(known)) or 'none'} (run it once from the CLI or SDK first)")
    return str(known[name])
