"""A real multi-node Ray cluster on this machine: a head and N worker nodes, each its own ``ray start``.

Used by the tests, the benchmarks and ``make demo-team``. Every port is bound to 127.0.0.1 (Ray's APIs
have no authentication: CVE-2023-48022, "ShadowRay"), the dashboard is off, and :meth:`stop` ends only
the process trees this object started (never ``ray stop``, which would end every cluster on the machine).

    with LocalRayCluster(workers=2) as rc:
        os.environ["LOOPML_CLUSTER"] = rc.client_address   # ray://127.0.0.1:PORT
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on the loopback address that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _ray_start() -> list[str]:
    """Ray's own ``ray start``, through the entry point that keeps 127.0.0.1 as given (see ``_ray_node``)."""
    return [sys.executable, "-m", "loopml.testing._ray_node", "start"]


@dataclass
class RayNode:
    """One ``ray start --block`` process and what it was started with."""

    name: str
    proc: subprocess.Popen[bytes]
    cpus: int
    log: Path
    resources: dict[str, float] = field(default_factory=dict)
    port: int = 0  # the node manager's port: how Ray's node list names this node

    def raylet_pid(self) -> int | None:
        """The pid of this node's raylet (the process a node loss takes away)."""
        import psutil

        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return None
        for child in children:
            try:
                if child.status() == psutil.STATUS_ZOMBIE:
                    continue  # killed, not yet reaped by ``ray start``
                if child.name() == "raylet" or "raylet" in " ".join(child.cmdline()[:1]):
                    return int(child.pid)
            except psutil.Error:
                continue
        return None

    def tree(self) -> list[Any]:
        import psutil

        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []


class LocalRayCluster:
    """Start a head (``head_cpus`` CPUs) and ``workers`` worker nodes of ``worker_cpus`` CPUs each."""

    def __init__(self, *, workers: int = 2, worker_cpus: int = 1, head_cpus: int = 0,
                 object_store_mb: int = 100, worker_resources: list[dict[str, float]] | None = None) -> None:
        self.workers, self.worker_cpus, self.head_cpus = workers, worker_cpus, head_cpus
        self.object_store = object_store_mb * 1024 * 1024
        self.worker_resources = worker_resources or [{} for _ in range(workers)]
        self.temp = Path(tempfile.mkdtemp(prefix="lr-", dir="/tmp"))  # short: Ray's socket paths are limited
        self.gcs_port, self.client_port = free_port(), free_port()
        self.nodes: list[RayNode] = []

    @property
    def gcs_address(self) -> str:
        return f"{LOOPBACK}:{self.gcs_port}"

    @property
    def client_address(self) -> str:
        return f"ray://{LOOPBACK}:{self.client_port}"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LOOPML_", "RAY_"))}
        env.update(RAY_USAGE_STATS_ENABLED="0", RAY_DISABLE_DOCKER_CPU_WARNING="1", PYTHONUNBUFFERED="1",
                   RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="1",
                   # a Ray Client session starts a server process; give it time on a busy machine
                   RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S="180",
                   # the GCS declares a node dead after 5 failed health checks; a raylet starved of CPU (hogs at
                   # 2x the cores) answered none within Ray's 10 s and a live node was lost. A killed raylet
                   # still fails each check at once (connection refused), so lost-node tests are not slowed.
                   RAY_health_check_timeout_ms="60000")
        return env

    def _common(self, cpus: int) -> list[str]:
        return ["--block", f"--num-cpus={cpus}", "--num-gpus=0",
                f"--object-store-memory={self.object_store}", "--disable-usage-stats"]

    def _spawn(self, name: str, args: list[str], cpus: int, resources: dict[str, float]) -> RayNode:
        import json

        port = free_port()
        args = [*args, f"--node-manager-port={port}"]
        log = self.temp / f"{name}.log"
        if resources:
            args = [*args, f"--resources={json.dumps(resources)}"]
        with open(log, "wb") as out:
            proc = subprocess.Popen([*_ray_start(), *args], stdout=out, stderr=subprocess.STDOUT,
                                    env=self._env(), start_new_session=True)
        node = RayNode(name, proc, cpus, log, resources, port)
        self.nodes.append(node)
        return node

    def start(self, timeout: float = 600) -> LocalRayCluster:
        head = ["--head", f"--node-ip-address={LOOPBACK}", f"--port={self.gcs_port}", f"--ray-client-server-port={self.client_port}",
                "--include-dashboard=false", "--dashboard-host=127.0.0.1", f"--temp-dir={self.temp}",
                *self._common(self.head_cpus)]
        self._start_node("head", head, self.head_cpus, {}, timeout)
        for i in range(self.workers):  # one at a time: nodes joining at once race on the session's files
            self.add_worker(self.worker_resources[i] if i < len(self.worker_resources) else {}, timeout=timeout)
        self._wait_port(self.client_port, timeout)
        return self

    def add_worker(self, resources: dict[str, float] | None = None, *, wait: bool = True,
                   timeout: float = 600) -> RayNode:
        """Start one more worker node (as a lost node's replacement would join).

        ``ray start`` (of a worker or the head) gives a raylet 30 s to register with the GCS, a limit of its
        own code; on a machine loaded far beyond its cores that is not enough, so ``_ray_node`` waits up to
        ten minutes for the registration, and a node that gave up anyway is started again (three tries)
        after its processes are ended. ``timeout`` bounds the wait; a node that starts returns at once."""
        args = [f"--address={self.gcs_address}", f"--node-ip-address={LOOPBACK}", *self._common(self.worker_cpus)]
        if not wait:
            return self._spawn(f"worker-{len(self.nodes)}", args, self.worker_cpus, resources or {})
        return self._start_node(f"worker-{len(self.nodes)}", args, self.worker_cpus, resources or {}, timeout)

    def _start_node(self, name: str, args: list[str], cpus: int, resources: dict[str, float],
                    timeout: float) -> RayNode:
        for attempt in range(3):
            node = self._spawn(name, args, cpus, resources)
            try:
                self._wait_started([node], timeout)
                return node
            except RuntimeError as exc:
                self._end([node])
                self.nodes.remove(node)
                if attempt == 2 or "timed out during startup" not in str(exc):
                    raise
        raise AssertionError("unreachable")

    def replace_lost_nodes(self, timeout: float = 600) -> list[RayNode]:
        """Start a new worker node for every worker that lost its raylet (killed, or its ``ray start`` ended).

        The lost node's remaining processes are ended, and the replacement starts only once the GCS has
        marked the lost node dead: until then Ray may still place work there (a lost shard can be retried
        elsewhere sooner than the GCS notices), and the next test's actor would die with the node."""
        lost = [n for n in self.nodes if n.name != "head" and (n.proc.poll() is not None or n.raylet_pid() is None)]
        if not lost:
            return []
        self._end(lost)
        self._wait_marked_dead({n.port for n in lost}, timeout)
        for node in lost:
            self.nodes.remove(node)
        return [self.add_worker(node.resources, timeout=timeout) for node in lost]

    def _wait_marked_dead(self, ports: set[int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while (alive := self._alive_ports()) & ports:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the GCS still lists the lost nodes {sorted(alive & ports)} as alive "
                                   f"after {timeout:g} s")
            time.sleep(1)

    def _alive_ports(self) -> set[int]:
        """The node-manager ports of the nodes the GCS lists as alive."""
        return set(self._ask("[n['NodeManagerPort'] for n in ray.nodes() if n['Alive']]"))

    def _ask(self, expression: str, timeout: float = 300) -> Any:
        """The JSON value of ``expression`` evaluated by a short-lived driver of this cluster (``ray`` imported)."""
        import json

        code = ("import json, ray; from loopml.core.cluster import keep_loopback; keep_loopback(); "
                f"ray.init(address={self.gcs_address!r}, logging_level='ERROR', log_to_driver=False); "
                f"print('ANSWER=' + json.dumps({expression}))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                             env=self._env())
        found = [line for line in out.stdout.splitlines() if line.startswith("ANSWER=")]  # Ray prints too
        if out.returncode != 0 or not found:
            raise RuntimeError(f"could not ask the cluster {expression!r}: {out.stderr[-1500:]}")
        return json.loads(found[-1].removeprefix("ANSWER="))

    def node_names(self) -> dict[str, str]:
        """Ray node id -> this cluster's name for it (``head``, ``worker-1``, ...), lost nodes included."""
        try:
            ports = self._ask("{n['NodeID']: n['NodeManagerPort'] for n in ray.nodes()}", timeout=120)
        except RuntimeError:
            ports = {}  # names are for people; a cluster that does not answer leaves the ids as they are
        by_port = {n.port: n.name for n in self.nodes}
        return {node_id: by_port.get(port, f"node:{port}") for node_id, port in ports.items()}

    def _wait_started(self, nodes: list[RayNode], timeout: float) -> None:
        """Wait until each node's ``ray start`` reports its runtime started (it has joined the GCS)."""
        deadline = time.monotonic() + timeout
        waiting = list(nodes)
        while waiting and time.monotonic() < deadline:
            for node in list(waiting):
                if node.proc.poll() is not None:
                    raise RuntimeError(f"ray node {node.name} exited: {node.log.read_text()[-2000:]}")
                if "Ray runtime started" in node.log.read_text(errors="replace"):
                    waiting.remove(node)
            time.sleep(0.2)
        if waiting:
            tails = "; ".join(f"{n.name}: {n.log.read_text(errors='replace')[-1500:]}" for n in waiting)
            raise RuntimeError(f"Ray nodes {[n.name for n in waiting]} did not start in {timeout:g} s: {tails}")

    def _wait_port(self, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection((LOOPBACK, port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"port {port} never opened")

    def kill_raylet(self, node: RayNode) -> int:
        """SIGKILL ``node``'s raylet (a node loss, as when a machine dies); returns the pid killed."""
        pid = node.raylet_pid()
        if pid is None:
            raise RuntimeError(f"node {node.name} has no raylet")
        os.kill(pid, signal.SIGKILL)
        return pid

    def listening(self) -> list[tuple[str, int]]:
        """Every TCP address the cluster's processes listen on (the tests check they are loopback)."""
        out = []
        for node in self.nodes:
            for proc in node.tree():
                try:
                    conns = proc.net_connections(kind="tcp")
                except Exception:  # noqa: BLE001 - a process may end while we look
                    continue
                out += [(c.laddr.ip, c.laddr.port) for c in conns if c.status == "LISTEN"]
        return out

    def stop(self) -> None:
        """End every process this cluster started (TERM, then KILL after 10 s) and remove its temp folder."""
        self._end(self.nodes)
        shutil.rmtree(self.temp, ignore_errors=True)

    def _end(self, nodes: list[RayNode]) -> None:
        import psutil

        procs = [p for node in nodes for p in node.tree()]
        for proc in procs:
            try:
                proc.terminate()
            except psutil.Error:
                pass
        _, alive = psutil.wait_procs(procs, timeout=10)
        for proc in alive:
            try:
                proc.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(alive, timeout=5)
        for node in nodes:
            if node.proc.poll() is None:
                node.proc.wait(5)

    def __enter__(self) -> LocalRayCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
