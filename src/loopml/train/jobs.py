"""Training jobs: a user's script or a built-in algorithm run as a tracked, resumable subprocess.

A job gets its own working folder laid out like SageMaker's ``/opt/ml`` and the SageMaker script-mode
environment (``SM_MODEL_DIR``, ``SM_CHANNEL_<NAME>``, ``SM_HPS``, ``SM_OUTPUT_DATA_DIR``,
``SM_CHECKPOINT_DIR``, and ``LOOPML_*`` twins), so existing SageMaker training scripts run unchanged.
The status moves STARTING → TRAINING → COMPLETED | FAILED | STOPPED, or INTERRUPTED (resumable) when the
job was killed or asked to stop; every change is kept in the run's history.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from loopml.config import get_settings
from loopml.core import audit, checks, clock, context, leases, logs
from loopml.core.integrity import record_artifact
from loopml.errors import ConflictError, LoopmlError, ValidationError
from loopml.train import _modelio, _process, _records, _workdir, tracking
from loopml.train import _ray as _cluster
from loopml.train._records import COMPLETED, FAILED, INTERRUPTED, STARTING, STOPPED, TRAINING, Run
from loopml.train._tables import checkpoints, runs
from loopml.train.algorithms import validate_hyperparameters

SLOT_PREFIX = "train:slot:"
SLOT_TTL = 30.0
MODEL_MEDIA_TYPE = "application/vnd.loopml.model+dir"
_log = logs.stage_logger("train")


class JobFailed(LoopmlError):
    """A training job ended FAILED; the message holds the last lines of its log."""

    http_status = 500
    code = "job_failed"


SEED: list[checks.Constraint] = [checks.Interval(int, 0, 2**32 - 1), checks.NONE]
"""A random seed: what NumPy, XGBoost and LightGBM all accept."""
RUN_CONSTRAINTS: dict[str, list[checks.Constraint]] = {
    "max_runtime": [checks.Interval(float, 0, checks.TEN_YEARS, closed="right"), checks.NONE],
    "max_wait": [checks.Interval(float, 0, checks.TEN_YEARS, closed="right"), checks.NONE],
    "max_restarts": [checks.Interval(int, 0, 1000)], "stop_grace": [checks.Interval(float, 0, 3600)],
    "seed": SEED, "interruptible": [checks.Typed(bool, "bool")], "stream": [checks.Typed(bool, "bool")],
    "raise_on_failure": [checks.Typed(bool, "bool")],
    "channels": [checks.Typed(dict, "dict"), checks.NONE], "hyperparameters": [checks.Typed(dict, "dict"), checks.NONE],
    "environment": [checks.Typed(dict, "dict"), checks.NONE], "tags": [checks.Typed(dict, "dict"), checks.NONE],
    "resources": [checks.Typed(dict, "dict"), checks.NONE],
}
"""What :func:`run` accepts (the algorithm and its hyperparameters: :mod:`loopml.train.algorithms`; the
experiment name: :mod:`loopml.core.names`; ``max_wait`` must also exceed ``max_runtime``)."""


@checks.validate_params(RUN_CONSTRAINTS)
def run(
    script: str | Path | None = None, *, algorithm: str | None = None, channels: dict[str, Any] | None = None,
    hyperparameters: dict[str, Any] | None = None, experiment: str = "default", name: str | None = None,
    max_runtime: float | None = None, max_wait: float | None = None, interruptible: bool = False,
    max_restarts: int = 0, stop_grace: float = 10.0, metric_definitions: list[dict[str, str]] | None = None,
    environment: dict[str, str] | None = None, seed: int | None = None, source_dir: str | Path | None = None,
    tags: dict[str, str] | None = None, parent_id: str | None = None, stream: bool = True,
    should_stop: Callable[[str], str | None] | None = None, raise_on_failure: bool = False,
    resources: dict[str, Any] | None = None,
) -> Run:
    """Run a training job and wait for it to end.

    Args:
        script: a Python training script (SageMaker script mode); or use ``algorithm``.
        algorithm: a built-in (see :mod:`loopml.train.algorithms`), run with no user code.
        channels: input channels, e.g. ``{"train": "churn@2", "validation": "data/valid.parquet"}``; a
            value is a catalog dataset, a Parquet/CSV file or folder, or a DataFrame.
        hyperparameters: passed as ``SM_HPS``, ``hyperparameters.json`` and ``--key value`` arguments.
        experiment: the experiment the run belongs to.
        name: a display name.
        max_runtime: seconds of training (over all attempts) before the job is STOPPED; its last
            checkpoint is kept.
        max_wait: seconds from submission (waiting for capacity and interruptions included) before the
            job is STOPPED with MaxWaitTimeExceeded; must be greater than ``max_runtime``.
        interruptible: checkpoint-and-resume semantics (managed-spot style).
        max_restarts: restart automatically after an interruption, up to this many times.
        stop_grace: seconds between SIGTERM and SIGKILL when a job is stopped.
        metric_definitions: ``[{"Name": "train:loss", "Regex": "loss=([0-9.]+)"}]`` over the job output.
        environment: extra environment variables.
        seed: the random seed (``LOOPML_SEED``; the ``seed`` hyperparameter of built-ins).
        source_dir: a folder copied next to the script (the script path is then relative to it).
        tags: string labels of the run.
        parent_id: the tuning run this job is a trial of.
        stream: echo the job's log lines to this process's stdout.
        should_stop: polled while the job runs; return a reason to stop it (used for pruning).
        raise_on_failure: raise :class:`JobFailed` instead of returning a FAILED run.
        resources: what the job needs of a cluster node: ``{"cpus": 2, "memory": "4GiB", "gpus": 1}``
            and custom resources by name (``{"ssd": 1}``). With a cluster configured (``LOOPML_CLUSTER``)
            each attempt runs as a Ray task on a node that has them; a request no node can meet fails
            at once. Without a cluster the job runs here and the request is only recorded.

    Returns:
        The run as it ended.

    Raises:
        ValidationError: bad arguments or hyperparameters (nothing was started).
        NotFoundError: a channel names a dataset or file that does not exist (nothing was started).
    """
    spec = check(script, algorithm=algorithm, channels=channels, hyperparameters=hyperparameters, seed=seed,
                 source_dir=source_dir, max_runtime=max_runtime, max_wait=max_wait, interruptible=interruptible,
                 max_restarts=max_restarts, stop_grace=stop_grace, metric_definitions=metric_definitions,
                 environment=environment, resources=_resources(resources))
    if context.get_settings().cluster:
        _cluster.check_fits(spec)  # before anything is recorded: a request no node can meet never queues
    created = tracking.create_run(experiment, kind="training", name=name or spec["algorithm"] or spec["script"],
                                  params=spec["hyperparameters"], tags=tags, parent_id=parent_id, spec=spec,
                                  seed=spec["seed"])
    layout = _prepare(created.id, spec)
    with context.get_db().write() as conn:
        _records.update_run(conn, created.id, inputs=spec["channels"], environment=_workdir.environment_info(),
                            code=_workdir.code_info(_script_path(layout, spec), spec["algorithm"],
                                                        origin=_origin(spec)))
    return _execute(created.id, spec, stream=stream, should_stop=should_stop, raise_on_failure=raise_on_failure)


def _resources(given: dict[str, Any] | None) -> dict[str, Any] | None:
    if not given:
        return None
    from loopml.core.cluster import resources

    known = {k: given[k] for k in ("cpus", "memory", "gpus") if k in given}
    checked = resources(**known, custom={k: v for k, v in given.items() if k not in known})
    return {"cpus": checked.cpus, "memory": checked.memory, "gpus": checked.gpus, "custom": checked.custom}


def _check_target(target: str, channels: dict[str, dict[str, Any]]) -> None:
    """A built-in's label column is in its train and validation channels, told before the job starts."""
    import difflib

    for name in ("train", "validation"):
        columns = _workdir.channel_columns(channels[name]) if name in channels else None
        if columns is None or target in columns:
            continue
        close = difflib.get_close_matches(target, columns, n=1)
        hint = f"did you mean --target {close[0]}? " if close else ""
        raise ValidationError(f"target column {target!r} is not in the {name} channel; {hint}its columns are "
                              f"{', '.join(columns)}", target=target, channel=name)


def check(script: str | Path | None = None, *, algorithm: str | None = None, channels: dict[str, Any] | None = None,
          hyperparameters: dict[str, Any] | None = None, **options: Any) -> dict[str, Any]:
    """Check a job's arguments as :func:`run` takes them, and return the job's spec; nothing starts.

    Raises:
        ValidationError: a bad argument, hyperparameter or time limit.
        NotFoundError: a channel names a dataset or file that does not exist.
    """
    if (script is None) == (algorithm is None):
        raise ValidationError("pass exactly one of script= (a training script) or algorithm= (a built-in)")
    channels, hps = channels or {}, hyperparameters or {}
    options = {"seed": None, "source_dir": None, "max_runtime": None, "max_wait": None, "interruptible": False,
               "max_restarts": 0, "stop_grace": 10.0, "metric_definitions": None, "environment": None,
               "resources": None, **options}
    max_runtime = options["max_runtime"] = checks.optional_number(options["max_runtime"], "max_runtime", above=0,
                                                                   high=checks.TEN_YEARS)
    max_wait = options["max_wait"] = checks.optional_number(options["max_wait"], "max_wait", above=0,
                                                             high=checks.TEN_YEARS)
    options["max_restarts"] = checks.integer(options["max_restarts"], "max_restarts", low=0, high=1000)
    options["stop_grace"] = checks.number(options["stop_grace"], "stop_grace", low=0, high=3600)
    if max_wait is not None and max_runtime is not None and max_wait <= max_runtime:
        raise ValidationError(f"max_wait ({max_wait:g} s) must be greater than max_runtime ({max_runtime:g} s): "
                              "it bounds the whole job, waiting and interruptions included")
    seed = options.pop("seed")
    if algorithm is not None:
        hps = validate_hyperparameters(algorithm, {**hps, **({"seed": seed} if seed is not None else {})})
        if "train" not in channels:
            raise ValidationError(f"built-in {algorithm} needs a 'train' channel: channels={{'train': 'DATASET'}} "
                                  "(or --train DATASET)")
        seed = hps["seed"]
    seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    source_dir = options.pop("source_dir")
    if script is not None:
        script_file = Path(source_dir) / script if source_dir else Path(script)
        if not script_file.is_file():
            raise ValidationError(f"training script {script_file} does not exist; pass the path of a .py file")
        source_dir = str(Path(source_dir).resolve()) if source_dir else None
        script = str(script) if source_dir else str(script_file.resolve())
    resolved = {name: _workdir.resolve_channel(name, source) for name, source in channels.items()}
    if algorithm is not None and hps.get("target"):
        _check_target(hps["target"], resolved)
    return {"script": script, "source_dir": source_dir, "algorithm": algorithm, "channels": resolved,
            "hyperparameters": hps, "seed": seed, "submitted": time.time(), **options}


def _prepare(run_id: str, spec: dict[str, Any]) -> _workdir.Layout:
    layout = _workdir.layout_for(run_id).create()
    if spec["source_dir"] is not None:  # only the folder the user named, never the script's whole parent
        if layout.code.resolve().is_relative_to(Path(spec["source_dir"]).resolve()):
            raise ValidationError(
                f"source_dir {spec['source_dir']} contains the job's own folder {layout.root} (LOOPML_HOME is "
                "inside it), so copying it would never end; name a folder that holds only your code")
        shutil.copytree(spec["source_dir"], layout.code, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", ".git", "*.pyc", ".venv", ".loopml"))
    elif spec["script"] is not None:
        shutil.copy2(spec["script"], layout.code / Path(spec["script"]).name)
    for name, info in spec["channels"].items():
        _workdir.materialize_channel(layout, name, info)
    _workdir.write_config(layout, spec["hyperparameters"], spec["channels"])
    return layout


def _script_path(layout: _workdir.Layout, spec: dict[str, Any]) -> Path | None:
    if not spec["script"]:
        return None
    return layout.code / (spec["script"] if spec["source_dir"] else Path(spec["script"]).name)


def _origin(spec: dict[str, Any]) -> Path | None:
    if spec["source_dir"]:
        return Path(spec["source_dir"])
    return Path(spec["script"]) if spec["script"] else None


def _command(layout: _workdir.Layout, spec: dict[str, Any]) -> list[str]:
    if spec["algorithm"] is not None:
        return [sys.executable, "-m", "loopml.train._entry"]
    script = _script_path(layout, spec)
    return [sys.executable, str(script), *_workdir.user_args(spec["hyperparameters"])]


# -- supervision -----------------------------------------------------------------------------------
def _execute(run_id: str, spec: dict[str, Any], *, stream: bool, should_stop: Any, raise_on_failure: bool) -> Run:
    logs.log_event(_log, "job.start", run_id=run_id, algorithm=spec.get("algorithm"), script=spec.get("script"))
    layout = _workdir.layout_for(run_id)
    node_losses = 0
    while True:
        if context.get_settings().cluster:
            status, lost_node = _cluster_attempt(run_id, spec, layout, should_stop=should_stop)
            node_losses += lost_node
            if lost_node and node_losses <= _cluster.NODE_LOSS_RESTARTS:
                tracking.set_status(run_id, STARTING, reason="restarting on another node after its node was lost")
                continue
        else:
            slot = _wait_for_slot(run_id, spec)
            if slot is None:
                _finish(run_id, STOPPED, reason="MaxWaitTimeExceeded")
                break
            try:
                attempt = _attempt(run_id, spec, layout, slot, stream=stream, should_stop=should_stop)
            finally:
                _release(slot)
            status = _settle(run_id, spec, layout, attempt)
        if status != INTERRUPTED or not _restart_allowed(run_id, spec):
            break
        tracking.set_status(run_id, STARTING, reason="restarting after an interruption")
    result = tracking.get_run(run_id)
    logs.log_event(_log, "job.end", run_id=run_id, status=result.status, compute_seconds=result.compute_seconds)
    if raise_on_failure and result.status == FAILED:
        raise JobFailed(result.error or "the training job failed", run_id=run_id)
    return result


def _attempt(run_id: str, spec: dict[str, Any], layout: _workdir.Layout, slot: leases.Lease, *, stream: bool,
             should_stop: Any) -> _process.Attempt:
    _mark_training(run_id)
    env = _workdir.job_env(layout, run_id=run_id, channels=list(spec["channels"]), hps=spec["hyperparameters"],
                           seed=spec["seed"], algorithm=spec["algorithm"], extra=spec.get("environment") or {})
    attempt = _process.Attempt(
        run_id=run_id, command=_command(layout, spec), env=env, layout=layout,
        cwd=layout.code if spec["script"] else layout.root,
        metric_regexes=_process.compile_metric_definitions(spec.get("metric_definitions")), stream=stream,
        time_left=_runtime_left(run_id, spec), stop_grace=spec["stop_grace"], should_stop=should_stop,
        on_tick=lambda: _renew(slot))
    return _process.run_attempt(attempt)


def _mark_training(run_id: str) -> None:
    with context.get_db().write() as conn:
        row = conn.execute(sa.select(runs.c.attempts, runs.c.started_at).where(runs.c.id == run_id)).one()
        _records.append_status(conn, run_id, TRAINING, attempts=row.attempts + 1, heartbeat_at=clock.now(),
                               started_at=row.started_at or clock.now())


def _cluster_attempt(run_id: str, spec: dict[str, Any], layout: _workdir.Layout, *,
                     should_stop: Any) -> tuple[str, bool]:
    """One attempt as a Ray task; returns its status and whether its node was lost."""
    staged = _cluster.stage_inputs(layout, spec)
    _cluster.clear_stop(run_id)
    ref = _cluster.submit(run_id, spec, staged, time_left=_runtime_left(run_id, spec))
    _mark_training(run_id)
    began = time.monotonic()
    summary = _cluster.wait(ref, run_id, should_stop)
    attempt = _process.Attempt(run_id=run_id, command=[], env={}, layout=layout, cwd=layout.root)
    if isinstance(summary, BaseException):
        attempt.returncode, attempt.seconds = -signal.SIGKILL, _seconds_until_loss(run_id, time.monotonic() - began)
        attempt.tail = [f"its node was lost ({type(summary).__name__})"]
        return _settle(run_id, spec, layout, attempt, remote={}), True
    attempt.returncode, attempt.stop_reason = summary["returncode"], summary["stop_reason"]
    attempt.seconds, attempt.tail = summary["seconds"], summary["tail"]
    return _settle(run_id, spec, layout, attempt, remote=summary), False


def _seconds_until_loss(run_id: str, waited: float) -> float:
    """Compute an attempt used before its node died: from TRAINING to its last heartbeat."""
    current = tracking.get_run(run_id)
    started = [h["at"] for h in current.history if h["status"] == TRAINING]
    with context.get_db().read() as conn:
        beat = conn.execute(sa.select(runs.c.heartbeat_at).where(runs.c.id == run_id)).scalar()
    if beat is None or not started:
        return waited
    from datetime import datetime

    return max(0.0, min(waited, (clock.as_utc(beat) - datetime.fromisoformat(started[-1])).total_seconds()))


def _settle(run_id: str, spec: dict[str, Any], layout: _workdir.Layout, attempt: _process.Attempt,
            remote: dict[str, Any] | None = None) -> str:
    """Record how an attempt ended; ``remote`` holds what a cluster node already uploaded (None: local)."""
    status = _process.outcome(attempt)
    lost = _lost_seconds(run_id, attempt.seconds) if status in (INTERRUPTED, STOPPED) else 0.0
    values: dict[str, Any] = {"compute_seconds": runs.c.compute_seconds + attempt.seconds,
                              "interrupted_seconds": runs.c.interrupted_seconds + lost}
    if status == COMPLETED:
        values.update(remote.get("outputs", {}) if remote is not None else _save_outputs(run_id, layout))
    if status == FAILED:
        tail = "\n".join(attempt.tail[-20:])
        values["error"] = f"the job exited with code {attempt.returncode}; last lines of its log:\n{tail}"
    reason = attempt.stop_reason if status == STOPPED else values.get("error")
    if status == INTERRUPTED:
        reason = f"exit code {attempt.returncode}; resume with `loopml train resume {run_id}`"
        if remote == {}:
            reason = f"{attempt.tail[-1]}; its last checkpoint is in the artifact store"
    values["logs_digest"] = remote.get("logs_digest") if remote is not None else _store_logs(layout)
    if remote and remote.get("node"):
        values["environment"] = {**tracking.get_run(run_id).environment, "node": remote["node"]}
    _finish(run_id, status, reason=reason, **values)
    return status


def _finish(run_id: str, status: str, *, reason: str | None, **values: Any) -> None:
    if status in _records.TERMINAL:
        values["ended_at"] = clock.now()
    tracking.set_status(run_id, status, reason=reason, **values)


def _save_outputs(run_id: str, layout: _workdir.Layout) -> dict[str, Any]:
    if not any(layout.model.iterdir()):
        return {"outputs": {"model": None, "output_data": _output_data(layout)}}
    store, actor = context.get_artifacts(), context.current_user()
    flavor = _flavor(layout.model)
    ref = store.put_dir(layout.model)
    with context.get_db().write() as conn:
        record_artifact(conn, ref, media_type=MODEL_MEDIA_TYPE, actor=actor)
        audit.append(conn, actor=actor, action="run.model", resource=f"run:{run_id}",
                     details={"digest": ref.sha256, "flavor": flavor})
    return {"model_digest": ref.sha256, "outputs": {"model": ref.sha256, "flavor": flavor,
                                                    "output_data": _output_data(layout)}}


def _flavor(folder: Path) -> str:
    import json

    manifest = folder / _modelio.MANIFEST
    if manifest.is_file():
        return str(json.loads(manifest.read_text()).get("flavor", "unknown"))
    return "loopml" if _modelio.is_model_folder(folder) else "files"


def _output_data(layout: _workdir.Layout) -> str | None:
    folder = layout.output / "data"
    return context.get_artifacts().put_dir(folder).sha256 if folder.is_dir() and any(folder.iterdir()) else None


def _store_logs(layout: _workdir.Layout) -> str | None:
    return context.get_artifacts().put_file(layout.logs).sha256 if layout.logs.is_file() else None


def _lost_seconds(run_id: str, attempt_seconds: float) -> float:
    """Compute thrown away by an interruption: the time since this attempt's last checkpoint."""
    query = sa.select(sa.func.max(checkpoints.c.created_at)).where(checkpoints.c.run_id == run_id)
    with context.get_db().read() as conn:
        last = conn.execute(query).scalar()
    if last is None:
        return attempt_seconds
    since = (clock.now() - clock.as_utc(last)).total_seconds()
    return max(0.0, min(attempt_seconds, since))


def _runtime_left(run_id: str, spec: dict[str, Any]) -> float | None:
    if spec.get("max_runtime") is None:
        return None
    used = tracking.get_run(run_id).compute_seconds
    return max(0.0, float(spec["max_runtime"]) - used)


def _restart_allowed(run_id: str, spec: dict[str, Any]) -> bool:
    current = tracking.get_run(run_id)
    return current.attempts <= int(spec.get("max_restarts") or 0)


# -- capacity --------------------------------------------------------------------------------------
def slot_count() -> int:
    """How many training jobs may run at once on this installation (``LOOPML_TRAIN_SLOTS``)."""
    return get_settings().train_slots


def _wait_for_slot(run_id: str, spec: dict[str, Any]) -> leases.Lease | None:
    owner = f"{run_id}@{socket.gethostname()}:{os.getpid()}"
    deadline = None if spec.get("max_wait") is None else spec["submitted"] + float(spec["max_wait"])
    delay = 0.1
    while True:
        with context.get_db().write() as conn:
            for i in range(slot_count()):
                lease = leases.acquire(conn, f"{SLOT_PREFIX}{i}", owner, ttl=SLOT_TTL)
                if lease is not None:
                    return lease
        if deadline is not None and time.time() >= deadline:
            return None
        time.sleep(delay if deadline is None else max(0.0, min(delay, deadline - time.time())))
        delay = min(delay * 2, 2.0)


def _renew(slot: leases.Lease) -> None:
    with context.get_db().write() as conn:
        leases.renew(conn, slot, ttl=SLOT_TTL)


def _release(slot: leases.Lease) -> None:
    with context.get_db().write() as conn:
        leases.release(conn, slot)


# -- resume, interrupt, stop -----------------------------------------------------------------------
def resume(run_id: str, *, stream: bool = True, should_stop: Any = None) -> Run:
    """Continue an INTERRUPTED run (or one whose supervisor died) from its last verified checkpoint.

    Raises:
        ConflictError: the run is still running, or already ended COMPLETED/FAILED/STOPPED.
    """
    current = tracking.get_run(run_id)
    layout = _workdir.layout_for(run_id)
    if current.status in (STARTING, TRAINING):
        if _supervisor_alive(run_id, layout):
            raise ConflictError(f"run {run_id} is still {current.status}; wait for it or interrupt it first",
                                run_id=run_id)
        _settle_orphan(run_id)
    elif current.status != INTERRUPTED:
        raise ConflictError(f"run {run_id} is {current.status}; only INTERRUPTED runs can be resumed",
                            run_id=run_id, status=current.status)
    spec = dict(current.spec)
    _prepare(run_id, spec)
    tracking.set_status(run_id, STARTING, reason="resumed")
    return _execute(run_id, spec, stream=stream, should_stop=should_stop, raise_on_failure=False)


def _supervisor_alive(run_id: str, layout: _workdir.Layout) -> bool:
    with context.get_db().read() as conn:
        beat = conn.execute(sa.select(runs.c.heartbeat_at).where(runs.c.id == run_id)).scalar()
    fresh = beat is not None and (clock.now() - clock.as_utc(beat)).total_seconds() < SLOT_TTL
    return fresh and _process.is_alive(layout.pid_file)


def _settle_orphan(run_id: str) -> None:
    """A run left TRAINING by a supervisor that died: count the lost time and mark it INTERRUPTED."""
    layout = _workdir.layout_for(run_id)
    if _process.is_alive(layout.pid_file):
        os.kill(int(layout.pid_file.read_text()), signal.SIGKILL)
    with context.get_db().read() as conn:
        beat = conn.execute(sa.select(runs.c.heartbeat_at).where(runs.c.id == run_id)).scalar()
    current = tracking.get_run(run_id)
    started = [h["at"] for h in current.history if h["status"] == TRAINING]
    seconds = 0.0
    if beat is not None and started:
        from datetime import datetime

        seconds = max(0.0, (clock.as_utc(beat) - datetime.fromisoformat(started[-1])).total_seconds())
    tracking.set_status(run_id, INTERRUPTED, reason="its supervisor stopped without a trace",
                        compute_seconds=runs.c.compute_seconds + seconds,
                        interrupted_seconds=runs.c.interrupted_seconds + _lost_seconds(run_id, seconds))


def interrupt(run_id: str) -> bool:
    """Ask a running job to checkpoint and stop (SIGTERM, as a spot reclaim does); True if it was running."""
    layout = _workdir.layout_for(run_id)
    if not _process.is_alive(layout.pid_file):
        return False
    os.kill(int(layout.pid_file.read_text()), signal.SIGTERM)
    return True


def job_pid(run_id: str) -> int | None:
    """The process id of a running job, or None."""
    layout = _workdir.layout_for(run_id)
    return int(layout.pid_file.read_text()) if _process.is_alive(layout.pid_file) else None


def fetch_model(run_id: str, dest: str | Path) -> Path:
    """Copy the model folder a completed run produced to ``dest`` (hash-verified)."""
    found = tracking.get_run(run_id)
    if not found.model_digest:
        raise ValidationError(f"run {run_id} is {found.status} and has no model; train it to completion first")
    return context.get_artifacts().get_dir(found.model_digest, dest)
