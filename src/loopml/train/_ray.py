"""One attempt of a training job as a Ray task on a node that has the job's resources.

The driver uploads the job's code and file channels to the artifact store; the task lays out a fresh
``/opt/ml``-style folder on its node, materialises the channels there from the artifact store, runs the
same script-mode subprocess as a local job (``SM_*`` variables unchanged), and uploads the model folder,
output data and log back. Checkpoints are mirrored to the artifact store as the job writes them, so an
attempt on another node resumes from the last sealed one. The job process dies with the task's worker
(``PR_SET_PDEATHSIG``), so a lost node leaves no orphan still writing. Pruning and stop requests travel
through the metadata DB (``train:stop:<run>``), which both the driver and the node reach.
"""

from __future__ import annotations

import ctypes
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from loopml.core import cluster, context, leases
from loopml.train import _process, _workdir

STOP_PREFIX = "train:stop:"
NODE_LOSS_RESTARTS = 3
"""Attempts restarted on another node after their node was lost, on top of ``max_restarts``."""
_POLL = 0.5


# -- stop requests (driver -> node, through the metadata DB) ------------------------------------------
def request_stop(run_id: str, reason: str) -> None:
    """Ask the attempt of ``run_id`` running on a node to stop gracefully, giving ``reason``."""
    with context.get_db().write() as conn:
        leases.acquire(conn, STOP_PREFIX + run_id, reason[:190], ttl=24 * 3600)


def clear_stop(run_id: str) -> None:
    with context.get_db().write() as conn:
        leases.expire_now(conn, STOP_PREFIX + run_id)


def stop_requested(run_id: str) -> str | None:
    with context.get_db().read() as conn:
        found = leases.holder(conn, STOP_PREFIX + run_id)
    return found.owner if found is not None else None


# -- driver side -------------------------------------------------------------------------------------
def stage_inputs(layout: _workdir.Layout, spec: dict[str, Any]) -> dict[str, Any]:
    """Put the job's code and file channels in the artifact store; returns what a node needs to rebuild them."""
    store = context.get_artifacts()
    code = store.put_dir(layout.code).sha256 if any(layout.code.iterdir()) else None
    channels = {}
    for name, info in spec["channels"].items():
        if info["type"] == "file":
            path = Path(info["path"])
            ref = store.put_dir(path) if path.is_dir() else store.put_file(path)
            channels[name] = {"type": "stored", "sha256": ref.sha256, "dir": path.is_dir(), "file": path.name}
        else:
            channels[name] = info
    return {"code": code, "channels": channels}


def check_fits(spec: dict[str, Any]) -> None:
    """Raise ResourcesUnavailable when no node of the cluster has what the job asks for."""
    cluster.connect()
    cluster.check_fits(cluster.resources(**(spec.get("resources") or {})), what="the training job")


def submit(run_id: str, spec: dict[str, Any], staged: dict[str, Any], *, time_left: float | None) -> Any:
    """Start the attempt as a Ray task placed on a node with the job's resources; returns its ObjectRef."""
    ray = cluster.connect()
    request = cluster.resources(**(spec.get("resources") or {}))
    cluster.check_fits(request, what=f"training job {run_id}")
    remote = ray.remote(run_on_node).options(**request.ray_options(), max_retries=0, name=f"loopml:job:{run_id}")
    return remote.remote(run_id, spec, staged, cluster.task_environment(), time_left)


def wait(ref: Any, run_id: str, should_stop: Any) -> dict[str, Any] | BaseException:
    """Wait for the task, relaying ``should_stop`` decisions (pruning) to the node; the summary or the error."""
    ray = cluster.connect()
    done = threading.Event()
    future = ref.future()
    future.add_done_callback(lambda _f: done.set())
    asked = False
    while not done.wait(_POLL):
        if should_stop is not None and not asked and (reason := should_stop(run_id)):
            request_stop(run_id, reason)
            asked = True
    try:
        return dict(ray.get(ref))
    except Exception as exc:  # noqa: BLE001 - the caller turns a lost node into an interruption
        return exc


# -- node side ---------------------------------------------------------------------------------------
def _die_with_parent() -> None:
    """In the job process: get SIGKILL when the worker that started it dies (a lost node leaves no orphan)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _materialize(layout: _workdir.Layout, name: str, info: dict[str, Any]) -> None:
    if info["type"] != "stored":
        _workdir.materialize_channel(layout, name, info)
        return
    dest = layout.channel(name)
    dest.mkdir(parents=True, exist_ok=True)
    store = context.get_artifacts()
    if info["dir"]:
        store.get_dir(info["sha256"], dest)
    else:
        store.get_file(info["sha256"], dest / info["file"])


def _node_layout(run_id: str) -> _workdir.Layout:
    root = Path(tempfile.gettempdir()) / "loopml-node" / run_id
    shutil.rmtree(root, ignore_errors=True)  # a fresh folder: everything comes from the artifact store
    return _workdir.Layout(root).create()


def run_on_node(run_id: str, spec: dict[str, Any], staged: dict[str, Any], env: dict[str, str],
                time_left: float | None) -> dict[str, Any]:
    """The Ray task body: rebuild the job's folder on this node, run the attempt, upload what it made."""
    from loopml.core import work
    from loopml.train import jobs

    cluster.apply_environment(env)
    node = cluster.current_node()
    layout = _node_layout(run_id)
    with work.running("job", run_id, node=node):
        if staged["code"]:
            context.get_artifacts().get_dir(staged["code"], layout.code)
        for name, info in staged["channels"].items():
            _materialize(layout, name, info)
        _workdir.write_config(layout, spec["hyperparameters"], spec["channels"])
        attempt = _process.Attempt(
            run_id=run_id, command=jobs._command(layout, spec),
            env=_workdir.job_env(layout, run_id=run_id, channels=list(spec["channels"]), hps=spec["hyperparameters"],
                                 seed=spec["seed"], algorithm=spec["algorithm"], extra=spec.get("environment") or {}),
            layout=layout, cwd=layout.code if spec["script"] else layout.root,
            metric_regexes=_process.compile_metric_definitions(spec.get("metric_definitions")), stream=False,
            time_left=time_left, stop_grace=spec["stop_grace"], should_stop=_stop_poller(),
            preexec=_die_with_parent)
        started = time.monotonic()
        _process.run_attempt(attempt)
        summary = {"returncode": attempt.returncode, "stop_reason": attempt.stop_reason, "tail": attempt.tail,
                   "seconds": time.monotonic() - started, "node": node}
        if _process.outcome(attempt) == "COMPLETED":
            summary["outputs"] = jobs._save_outputs(run_id, layout)
        summary["logs_digest"] = jobs._store_logs(layout)
    shutil.rmtree(layout.root, ignore_errors=True)
    return summary


def _stop_poller() -> Any:
    last = {"t": 0.0}

    def poll(run_id: str) -> str | None:
        if time.monotonic() - last["t"] < _POLL:
            return None
        last["t"] = time.monotonic()
        return stop_requested(run_id)

    return poll
