"""The Ray cluster named by the ``cluster`` setting: connecting, its nodes, and what work may ask of them.

loopml never schedules work itself on a cluster: Ray does. This module turns the setting into a
connection (``ray://host:10001`` through Ray Client, or ``auto``), translates Ray's failures into one-line
:class:`~loopml.errors.ClusterError` messages, and checks a resource request against the nodes before
anything is submitted, so work that no node can hold fails at once with what the cluster offers instead
of waiting forever in Ray's queue.
"""

from __future__ import annotations

import math
import os
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from loopml.config import get_settings, reset_settings
from loopml.core import faults
from loopml.errors import ClusterError, ResourcesUnavailable, ValidationError

NAMESPACE = "loopml"
_lock = threading.Lock()
_connected: dict[str, Any] = {}
# settings forwarded to every task so a node opens the same stores as the driver
_FORWARD = ("LOOPML_DB", "LOOPML_ARTIFACTS", "LOOPML_ONLINE", "LOOPML_HOME", "LOOPML_USER", "LOOPML_S3_ENDPOINT",
            "LOOPML_QUEUE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION",
            # fault points armed on the driver arm its tasks too (the node-loss tests hold a task with them)
            "LOOPML_FAULTS", "LOOPML_FAULT_GATE", "LOOPML_FAULT_SLEEP")
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


@dataclass(frozen=True)
class Resources:
    """What one task asks of a node: CPUs, memory in bytes, GPUs and custom resources."""

    cpus: float = 1.0
    memory: int = 0
    gpus: float = 0.0
    custom: dict[str, float] = field(default_factory=dict)

    def as_ray(self) -> dict[str, float]:
        """The request in Ray's resource names (``CPU``, ``GPU``, ``memory``, custom names)."""
        wanted = {"CPU": self.cpus, "GPU": self.gpus, "memory": float(self.memory), **self.custom}
        return {k: v for k, v in wanted.items() if v}

    def ray_options(self) -> dict[str, Any]:
        """Keyword options for ``remote_function.options(...)``."""
        options: dict[str, Any] = {"num_cpus": self.cpus, "num_gpus": self.gpus}
        if self.memory:
            options["memory"] = self.memory
        if self.custom:
            options["resources"] = dict(self.custom)
        return options


def parse_memory(value: int | float | str | None) -> int:
    """Bytes from ``2147483648``, ``"2GiB"``, ``"512 MB"`` (None or 0: no request)."""
    if value is None:
        return 0
    if isinstance(value, int | float):
        number, unit = float(value), ""
    else:
        found = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", value)
        if not found or found.group(2).lower() not in _UNITS:
            raise ValidationError(f"memory {value!r} is not a size such as 2GiB, 512MB or a number of bytes")
        number, unit = float(found.group(1)), found.group(2).lower()
    if number < 0 or math.isnan(number):
        raise ValidationError(f"memory {value!r} must be zero or more")
    return int(number * _UNITS[unit])


def resources(*, cpus: float | None = None, memory: int | float | str | None = None, gpus: float | None = None,
              custom: dict[str, float] | None = None) -> Resources:
    """A checked :class:`Resources` (negative amounts are refused with the value named)."""
    for name, amount in {"cpus": cpus, "gpus": gpus, **(custom or {})}.items():
        if amount is not None and (not isinstance(amount, int | float) or amount < 0):
            raise ValidationError(f"resource {name}={amount!r} must be a number >= 0")
    return Resources(cpus=1.0 if cpus is None else float(cpus), memory=parse_memory(memory),
                     gpus=float(gpus or 0), custom={k: float(v) for k, v in (custom or {}).items()})


# -- connecting ------------------------------------------------------------------------------------
def address() -> str:
    """The configured cluster address; a ClusterError when none is set."""
    value = get_settings().cluster
    if not value:
        raise ClusterError("no cluster is configured; set LOOPML_CLUSTER (or 'cluster' in loopml.toml) to "
                           "ray://HOST:10001 or auto")
    return value


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ClusterError("Ray is not installed; install it with: pip install 'loopml[ray]'") from exc
    return ray


def _check_reachable(target: str) -> None:
    if not target.startswith("ray://"):
        return
    host, _, port = target[len("ray://"):].rpartition(":")
    try:
        socket.create_connection((host or "127.0.0.1", int(port or 10001)), timeout=5).close()
    except (OSError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Ray cluster at {target} ({exc.__class__.__name__}); check that its "
                           "head node runs and that this machine can reach the address") from exc


def _translate(target: str, exc: Exception) -> ClusterError:
    text = str(exc)
    if "version" in text.lower() and ("mismatch" in text.lower() or "differ" in text.lower()):
        ray = _import_ray()
        first = next((line.strip() for line in text.splitlines() if "cluster" in line.lower()), text[:200])
        return ClusterError(f"the Ray versions of this client ({ray.__version__}, Python "
                            f"{'.'.join(map(str, __import__('sys').version_info[:3]))}) and of the cluster at {target} "
                            f"differ ({first}); install the cluster's Ray version here")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reason = lines[0][:300] if lines else repr(exc)
    if len(lines) > 1:  # a server-side traceback: its last line names the cause
        reason += f" ({lines[-1][:300]})"
    return ClusterError(f"cannot connect to the Ray cluster at {target}: {reason}")


#: Ray Client attempts per connection: the head starts a server process for each client session, which can
#: fail on a busy head ("Initialization failure from server") and succeed a moment later.
CLIENT_ATTEMPTS = 3


def _init(ray: Any, target: str) -> None:
    for attempt in range(1, CLIENT_ATTEMPTS + 1):
        try:
            ray.init(address=target, namespace=NAMESPACE, logging_level="WARNING", log_to_driver=False,
                     configure_logging=False)
            return
        except ConnectionAbortedError:
            if not target.startswith("ray://") or attempt == CLIENT_ATTEMPTS:
                raise
            ray.shutdown()  # forget the half-made client session before the next attempt
            time.sleep(attempt)


def keep_loopback() -> None:
    """Make Ray keep ``127.0.0.1`` as given in this process.

    Ray replaces a node or cluster address of ``127.0.0.1`` with the machine's routable address (and its
    servers then listen on every interface). loopml's own scripts run clusters bound to loopback only
    (CVE-2023-48022), so their nodes and the drivers that join them keep the loopback address.
    """
    import ray._private.services as services

    original = services.resolve_ip_for_localhost
    if getattr(original, "_loopml_keeps_loopback", False):
        return

    def resolve(host: str) -> str:
        return host if host == "127.0.0.1" else str(original(host))

    resolve._loopml_keeps_loopback = True  # type: ignore[attr-defined]
    services.resolve_ip_for_localhost = resolve


def _gcs_address(target: str) -> str | None:
    return os.environ.get("RAY_ADDRESS") if target == "auto" else None


def connect() -> Any:
    """Connect this process to the configured cluster once (later calls are free); returns the ray module."""
    target = address()
    ray = _import_ray()
    if (_gcs_address(target) or "").startswith("127.0.0.1:"):
        keep_loopback()
    with _lock:
        if _connected.get("address") == target and _connected.get("pid") == os.getpid() and ray.is_initialized():
            return ray
        _check_reachable(target)
        try:
            if ray.is_initialized():
                ray.shutdown()
            _init(ray, target)
        except (ConnectionError, TimeoutError, RuntimeError, ValueError) as exc:
            raise _translate(target, exc) from exc
        _connected.update(address=target, pid=os.getpid())
    return ray


def disconnect() -> None:
    """Leave the cluster (work this process submitted and still runs is cancelled by Ray)."""
    with _lock:
        if _connected and "ray" in __import__("sys").modules:
            import ray

            if ray.is_initialized():
                ray.shutdown()
        _connected.clear()


def task_environment() -> dict[str, str]:
    """The settings a task applies on its node before it runs (the stores and the acting user)."""
    from loopml.core import context

    settings = get_settings()
    env = {k: os.environ[k] for k in _FORWARD if os.environ.get(k)}
    env.update(LOOPML_DB=settings.db_url, LOOPML_ARTIFACTS=settings.artifacts_url, LOOPML_ONLINE=settings.online_url,
               LOOPML_HOME=str(settings.home), LOOPML_USER=context.current_user())
    return env


def apply_environment(env: dict[str, str]) -> None:
    """On a node: take on the driver's settings (reopening the stores only when they changed)."""
    stale = [k for k in _FORWARD if k not in env and k in os.environ]  # left by an earlier driver's task
    changed = bool(stale) or any(os.environ.get(k) != v for k, v in env.items())
    rearm = os.environ.get("LOOPML_FAULTS") != env.get("LOOPML_FAULTS")
    for key in stale:
        del os.environ[key]
    os.environ.update(env)
    os.environ.pop("LOOPML_CLUSTER", None)  # work on a node runs there; it never submits onwards by accident
    if changed:
        reset_settings()
    if rearm:
        faults.reset()


# -- nodes -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    """One alive node of the cluster and its total resources (Ray's names)."""

    id: str
    address: str
    is_head: bool
    resources: dict[str, float]


def nodes() -> list[Node]:
    """The alive nodes, head first."""
    ray = connect()
    out = []
    for item in ray.nodes():
        if not item.get("Alive"):
            continue
        res = {k: float(v) for k, v in item.get("Resources", {}).items() if not k.startswith("node:")}
        head = any(k == "node:__internal_head__" for k in item.get("Resources", {}))
        out.append(Node(item["NodeID"], item.get("NodeManagerAddress", "?"), head, res))
    return sorted(out, key=lambda n: (not n.is_head, n.address, n.id))


def describe(resources_: dict[str, float]) -> str:
    """``CPU 1, memory 2.0 GiB, GPU 1`` (memory in GiB, object store left out)."""
    parts = []
    for key in sorted(resources_, key=lambda k: (k not in ("CPU", "memory", "GPU"), k)):
        if key == "object_store_memory":
            continue
        value = resources_[key]
        parts.append(f"memory {value / 2**30:.1f} GiB" if key == "memory" else f"{key} {value:g}")
    return ", ".join(parts) or "nothing"


def check_fits(request: Resources, *, what: str) -> None:
    """Raise :class:`ResourcesUnavailable` when no single alive node has every resource ``request`` asks for."""
    wanted = request.as_ray()
    alive = nodes()
    if any(all(node.resources.get(k, 0.0) >= v for k, v in wanted.items()) for node in alive):
        return
    short = sorted({k for k, v in wanted.items() if all(n.resources.get(k, 0.0) < v for n in alive)})
    missing = ", ".join(f"{k} {wanted[k]:g}" if k != "memory" else f"memory {wanted[k] / 2**30:.1f} GiB"
                        for k in short) or describe(wanted) + " on one node"
    offers = "; ".join(f"{n.address}{' (head)' if n.is_head else ''}: {describe(n.resources)}" for n in alive)
    raise ResourcesUnavailable(f"{what} asks for {missing}, which no node of the cluster has; the cluster offers: "
                               f"{offers or 'no alive node'}", resources=wanted)


def total(resource: str = "CPU") -> float:
    """The cluster's total of one resource over alive nodes."""
    return sum(n.resources.get(resource, 0.0) for n in nodes())


def current_node() -> dict[str, str]:
    """Inside a task: the id and address of the node it runs on."""
    import ray

    ctx = ray.get_runtime_context()
    return {"node_id": ctx.get_node_id(), "node_ip": ray.util.get_node_ip_address()}  # type: ignore[no-untyped-call]
