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

from loopml.core import audit, clock, context, faults, leases
from loopml.core.artifacts import ArtifactRef
from loopml.core.integrity import record_artifact
from loopml.errors import ConflictError, StaleEpoch, ValidationError
from loopml.pipelines import _params, _records, _serde
from loopml.pipelines._code import code_hash, git_info, load_ref, portable_ref, source_file
from loopml.pipelines._records import DONE, TERMINAL, ExecutionInfo
from loopml.pipelines._sdk import Node, Output, Pipeline
from loopml.pipelines._task import StepResult, StepTask
from loopml.pipelines.executors import Executor, InlineExecutor, LocalExecutor

EventHook = Callable[..., None]


def lease_ttl() -> float:
    """Seconds an orchestrator's lease lasts without a heartbeat (``LOOPML_LEASE_TTL``, default 30)."""
    return float(os.environ.get("LOOPML_LEASE_TTL", "30"))


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
    definition = {"name": pipe.name, "steps": steps}
    digest = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()
    return definition, digest


def _make_executor(executor: str | Executor) -> tuple[Executor, bool]:
    if executor == "local":
        return LocalExecutor(), True
    if executor == "inline":
        return InlineExecutor(), True
    if isinstance(executor, str):
        raise ValidationError(f"unknown executor {executor!r}; use 'local' or 'inline'")
    return executor, False


def _resolve_pipeline(pipe: Pipeline | str) -> Pipeline:
    obj = load_ref(pipe) if isinstance(pipe, str) else pipe
    if not isinstance(obj, Pipeline):
        raise ValidationError(f"{pipe!r} is not a @pipeline function")
    return obj


def run(pipe: Pipeline | str, *, params: dict[str, Any] | None = None, executor: str | Executor = "local",
        cache: bool = True, on_event: EventHook | None = None) -> ExecutionInfo:
    """Run a pipeline and wait for it to finish.

    Args:
        pipe: a ``@pipeline`` function or its reference ``MODULE:NAME`` / ``path/file.py:NAME``.
        params: parameter overrides (strings are parsed by the parameter's annotated type).
        executor: ``"local"`` (worker processes), ``"inline"`` (this process), or an :class:`Executor`.
        cache: reuse earlier results of identical steps (``False`` re-runs everything).
        on_event: called as ``on_event(event, execution_id=..., step=..., status=...)`` for live progress.

    Returns:
        The recorded execution; its ``status`` is ``SUCCEEDED`` or ``FAILED`` (a step's failure does not raise).
    """
    pipe = _resolve_pipeline(pipe)
    resolved = _params.resolve(pipe.signature, params or {}, pipeline=pipe.name)
    nodes = pipe.build(resolved)
    definition, digest = _definition(pipe, nodes)
    db, user, owner = context.get_db(), context.current_user(), _owner()
    with db.write() as conn:
        pipeline_id = _records.upsert_pipeline(conn, pipe.name, portable_ref(pipe.fn), digest, definition)
        eid = _records.create_execution(
            conn, pipeline_id=pipeline_id, name=pipe.name, params=_jsonable(resolved),
            code=git_info(source_file(pipe.fn)), user=user, cache=cache,
            steps={n: s["code_hash"] for n, s in definition["steps"].items()})
        lease = leases.acquire(conn, f"pe:{eid}", owner, ttl=lease_ttl())
        audit.append(conn, actor=user, action="pipeline.run", resource=f"execution:{eid}",
                     details={"pipeline": pipe.name, "definition_hash": digest, "params": _jsonable(resolved)})
    assert lease is not None
    return _Run(eid, nodes, lease, executor, cache, on_event).drive()


def resume(execution_id: str, *, executor: str | Executor = "local", on_event: EventHook | None = None) -> ExecutionInfo:
    """Finish an execution whose orchestrator died: only steps that had not succeeded run again.

    Raises:
        ConflictError: the execution is still running under a live orchestrator, or its code changed.
    """
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
    lease = leases.acquire(conn, key, owner, ttl=lease_ttl())
    if lease is not None:
        return lease
    holder = leases.holder(conn, key)
    host, pid, _ = holder.owner.split(":", 2) if holder else ("", "0", "")
    if host == socket.gethostname() and not _pid_alive(int(pid)):
        leases.expire_now(conn, key)
        lease = leases.acquire(conn, key, owner, ttl=lease_ttl())
        if lease is not None:
            return lease
    raise ConflictError(
        f"execution {execution_id} is still running (orchestrator {holder.owner if holder else '?'}); "
        f"wait for it, or for its lease to lapse ({lease_ttl():g} s without a heartbeat)",
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed, not yet reaped) is dead for our purposes
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


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
    return json.loads(json.dumps(params, default=str))


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

    def __init__(self, eid: str, nodes: dict[str, Node], lease: leases.Lease, executor: str | Executor,
                 cache: bool, on_event: EventHook | None) -> None:
        self.eid, self.nodes, self.cache = eid, nodes, cache
        self.executor_arg = executor
        self.db, self.store, self.user = context.get_db(), context.get_artifacts(), context.current_user()
        self.emit = on_event or (lambda *a, **k: None)
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
        key = hashlib.sha256(json.dumps(
            {"code": code_hash(node.spec.fn), "inputs": inputs, "literals": literals}, sort_keys=True, default=repr,
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
                        node.spec.timeout, self.attempts[node.id])
        running[executor.submit(task)] = node.id
        return True

    def _value(self, out: Output) -> Any:
        digest, media_type = self.outputs[out.node]
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


def get_execution(execution_id: str) -> ExecutionInfo:
    """The recorded execution with its steps."""
    with context.get_db().read() as conn:
        return _records.get_execution(conn, execution_id)


def list_executions(*, name: str | None = None, status: str | None = None, limit: int = 50,
                    offset: int = 0) -> list[dict[str, Any]]:
    """Executions, newest first (paginated)."""
    with context.get_db().read() as conn:
        return _records.list_executions(conn, name=name, status=status, limit=limit, offset=offset)


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
    return known[name]
