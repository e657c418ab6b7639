"""Endpoint replicas on a Ray cluster: each replica is a replica server process held by a Ray actor.

The endpoint process (router, scaling, rollouts) stays where it was started; :class:`RayLauncher` is the
:class:`~loopml.serve._zygote.Launcher` of an endpoint whose ``placement`` is ``cluster``. Each replica is
one :class:`ReplicaHost` actor with the endpoint's replica resources, placed by Ray on a worker node
(loopml names the worker node with the fewest replicas of the variant, so replicas spread and a
lost node takes as few as possible). The actor fetches the model from the artifact store by digest
(verified), starts ``python -m loopml.serve.replica`` on its node with a credential-free environment,
bound to the node's address, and returns the address to the router. The replica exits when its actor's
worker process does (it watches that pid), so a lost node takes its replicas with it; the endpoint
process sees the actor die, the router retries the request on another replica, and the scaler starts a
replacement on a node that is alive.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from loopml.core import cluster


class ReplicaHost:
    """The Ray actor holding one replica process on its node (threaded: ``wait`` blocks, ``signal`` not)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.folder = Path(tempfile.mkdtemp(prefix="loopml-replica-"))
        self.node: dict[str, str] = {}
        self.ref = ""

    def start(self, spec: dict[str, Any], env: dict[str, str], ref: str, timeout: float = 600.0) -> dict[str, Any]:
        """Fetch the model(s), start the replica server and wait until it serves; returns its address."""
        from loopml.serve._model import sandbox_env
        from loopml.serve._node_models import fetch_to_node

        cluster.apply_environment(env)
        self.node, self.ref = cluster.current_node(), ref
        models = [{**m, "folder": str(fetch_to_node(m["digest"]))} for m in spec["models"]]
        ready = self.folder / "ready.json"
        local = {**spec, "models": models, "host": self.node["node_ip"], "port": 0, "ready_file": str(ready),
                 "parent_pid": os.getpid()}
        (self.folder / "spec.json").write_text(json.dumps(local))
        log = (self.folder / "replica.log").open("ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(  # noqa: S603 - our own module, no shell
            [sys.executable, "-m", "loopml.serve.replica", str(self.folder / "spec.json")], stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=sandbox_env(), cwd=self.folder,
            start_new_session=True)
        while not ready.exists():
            if self.proc.poll() is not None or time.monotonic() - t0 > timeout:
                self.proc.kill()
                tail = (self.folder / "replica.log").read_text(errors="replace")[-1500:]
                raise RuntimeError(f"the replica on node {self.node['node_ip']} failed to start "
                                   f"(exit {self.proc.poll()}): {tail}")
            time.sleep(0.02)
        info = json.loads(ready.read_text())
        return {**info, "host": self.node["node_ip"], "node_id": self.node["node_id"]}

    def wait(self) -> int:
        """Block until the replica process exits; returns its exit code (the work record closes then)."""
        import shutil

        from loopml.core import work

        assert self.proc is not None
        with work.running("replica", self.ref, node=self.node):
            code = self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
        return int(code)

    def signal(self, sig: int) -> None:
        """Deliver ``sig`` to the replica (SIGTERM: it drains, then exits)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)


class RayReplica:
    """A replica held by a :class:`ReplicaHost` actor, behind the :class:`ReplicaProcess` interface."""

    def __init__(self, ray: Any, actor: Any, started: Any, ready_file: Path, log: Path, node_id: str) -> None:
        self._ray, self.actor, self.ready_file, self.log = ray, actor, ready_file, log
        self.pid, self.node_id = 0, node_id
        self.ended = 0.0
        self._code: int | None = None
        self._waited: Any = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        started.future().add_done_callback(self._on_started)

    def _on_started(self, future: Any) -> None:
        try:
            info = future.result()
        except BaseException as exc:  # noqa: BLE001 - a replica that could not start is a dead replica
            with self.log.open("a") as out:
                out.write(f"replica on the cluster failed to start: {type(exc).__name__}: {exc}\n")
            self._exit(1)
            return
        self.pid, self.node_id = int(info.get("pid", 0)), str(info.get("node_id", self.node_id))
        tmp = self.ready_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(info))
        os.replace(tmp, self.ready_file)
        self._waited = self.actor.wait.remote()
        self._waited.future().add_done_callback(self._on_exit)

    def _on_exit(self, future: Any) -> None:
        try:
            self._exit(int(future.result()))
        except BaseException:  # noqa: BLE001 - the actor died (its node was lost): the replica is gone
            self._exit(-int(signal.SIGKILL))

    def _exit(self, code: int) -> None:
        with self._lock:
            if self._code is None:
                self._code = code
                self.ended = time.monotonic()
        self._done.set()

    def lost(self, within: float) -> bool:
        """Whether it ended abnormally (its node lost, or killed after breaking) in the last ``within`` s."""
        return self._code is not None and self._code != 0 and time.monotonic() - self.ended < within

    def poll(self) -> int | None:
        return self._code

    def send_signal(self, sig: int) -> None:
        if self._code is None:
            self.actor.signal.remote(int(sig))

    def kill(self) -> None:
        if self._code is None:
            try:
                self._ray.kill(self.actor, no_restart=True)
            except Exception:  # noqa: BLE001, S110 - already gone
                pass
            self._exit(-int(signal.SIGKILL))

    def wait(self, timeout: float | None = None) -> int | None:
        self._done.wait(timeout)
        return self._code


class RayLauncher:
    """Starts each replica of an endpoint as a :class:`ReplicaHost` actor on the cluster."""

    def __init__(self, endpoint: str, resources: dict[str, Any] | None = None) -> None:
        self._ray = cluster.connect()
        self.endpoint = endpoint
        self.request = cluster.resources(**(resources or {"cpus": 0}))
        cluster.check_fits(self.request, what=f"a replica of endpoint {endpoint!r}")
        self._env = cluster.task_environment()
        self._actor = self._ray.remote(ReplicaHost)
        self._placed: dict[str, list[RayReplica]] = {}

    def _node(self, variant: str) -> str | None:
        """The alive worker node that fits the request and holds the fewest live replicas of ``variant``.

        A node where a replica was lost in the last two minutes is passed over while another node fits: Ray
        may still list a node whose raylet just died as alive."""
        wanted = self.request.as_ray()
        fits = [n for n in cluster.nodes() if all(n.resources.get(k, 0.0) >= v for k, v in wanted.items())]
        workers = [n for n in fits if not n.is_head] or fits
        suspect = {r.node_id for rs in self._placed.values() for r in rs if r.lost(within=120.0)}
        workers = [n for n in workers if n.id not in suspect] or workers
        placed = [r.node_id for r in self._placed.get(variant, []) if r.poll() is None]
        return min(workers, key=lambda n: placed.count(n.id)).id if workers else None

    def launch(self, spec: Path, *, log: Path, cwd: Path) -> RayReplica:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        body = json.loads(spec.read_text())
        variant = log.stem  # the replica set writes NAME.log and NAME-COUNTER-PID.json
        node = self._node(variant)
        options: dict[str, Any] = {**self.request.ray_options(), "max_restarts": 0, "max_concurrency": 4}
        if node is not None:
            options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node, soft=False)
        actor = self._actor.options(**options).remote()
        started = actor.start.remote(body, self._env, f"{self.endpoint}/{spec.stem.rsplit('-', 1)[0]}")
        replica = RayReplica(self._ray, actor, started, Path(body["ready_file"]), log, node or "")
        self._placed[variant] = [r for r in self._placed.get(variant, []) if r.poll() is None or r.lost(120.0)]
        self._placed[variant].append(replica)
        return replica
