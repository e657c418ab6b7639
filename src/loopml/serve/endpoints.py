"""Endpoints: managed local processes serving approved model versions, with state in the metadata store.

An endpoint is one endpoint process (the router: variants, traffic weights, scaling, rollouts, async
queue, capture upload) and the replica processes it starts. Its desired and observed state live in the
database, so :func:`describe` is truthful after the CLI restarts and :func:`start_all` brings back every
endpoint that should be running.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from loopml.core import audit, checks, context, identity, names
from loopml.core import logs as event_logs  # this module's own logs() returns an endpoint's log lines
from loopml.errors import PermissionDenied, Timeout, ValidationError
from loopml.serve import _records
from loopml.serve._records import Endpoint
from loopml.serve.endpoint_config import EndpointConfig

MODES = ("realtime", "serverless", "async")
STRATEGIES = ("all_at_once", "canary", "linear")
_NAME = re.compile(r"[a-z0-9][a-z0-9\-]{0,62}")

_log = event_logs.stage_logger("serve")


def endpoint_dir(name: str) -> Path:
    """The endpoint's working folder (logs, model copies, capture spool) under LOOPML_HOME."""
    path = context.get_settings().home / "endpoints" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def _variant(ref: str, *, allow_unapproved: bool, conn: Any, actor: str, endpoint: str, weight: float = 100.0,
             shadow: bool = False) -> dict[str, Any]:
    """Resolve ``ref`` to a deployable version: Approved for these bytes, or an audited admin override."""
    from loopml import registry

    version = registry.resolve(ref)
    if not version.is_deployable:
        if not allow_unapproved:
            raise PermissionDenied(f"{version.name} is {version.status}, not Approved for digest {version.digest}; "
                                   f"an approver other than {version.created_by} approves it ('loopml model approve "
                                   f"{version.name}') or, as an admin, pass --allow-unapproved", model=version.name)
        identity.require_role(conn, actor, "admin", action=f"deploy unapproved {version.name}")
        audit.append(conn, actor=actor, action="endpoint.deploy_unapproved", resource=f"endpoint:{endpoint}",
                     details={"model": version.name, "status": version.status, "digest": version.digest})
    return {"name": f"{version.group}-v{version.version}", "model": version.name, "group": version.group,
            "version": version.version, "digest": version.digest, "weight": weight, "shadow": shadow}


_INT, _FLOAT, _STR, _BOOL = int, float, checks.Typed(str, "str"), checks.Typed(bool, "bool")

CREATE_CONSTRAINTS: dict[str, list[checks.Constraint]] = {
    "model": [_STR], "mode": [checks.Options(*MODES)],
    "min_replicas": [checks.Interval(_INT, 0, None)], "max_replicas": [checks.Interval(_INT, 1, None)],
    "target_in_flight": [checks.Interval(_FLOAT, 0.01, 10_000)], "max_concurrency": [checks.Interval(_INT, 1, 10_000)],
    "max_queue": [checks.Interval(_INT, 0, 1_000_000)], "max_body": [checks.Interval(_INT, 1, 2**40)],
    "capture_percent": [checks.Interval(_FLOAT, 0, 100)], "idle_seconds": [checks.Interval(_FLOAT, 0.1, checks.TEN_YEARS)],
    "serverless_concurrency": [checks.Interval(_INT, 1, 10_000)], "port": [checks.Interval(_INT, 0, 65535)],
    "allow_unapproved": [_BOOL], "webhook": [_STR, checks.NONE], "max_attempts": [checks.Interval(_INT, 1, 1000)],
    "shadow": [_STR, checks.NONE], "targets": [checks.Typed(list), checks.NONE],
    "memory_budget": [checks.Interval(_INT, 2**20, 2**50)], "feature_group": [_STR, checks.NONE],
    "placement": [checks.Options("local", "cluster"), checks.NONE], "replica_resources": [checks.Typed(dict), checks.NONE],
    "start": [_BOOL], "timeout": [checks.Interval(_FLOAT, 0.1, 86_400), checks.NONE],
}
"""What :func:`create` accepts, parameter by parameter (checked before anything is looked up or stored);
the name follows :mod:`loopml.core.names` (the one rule for names), narrowed to a host-name label."""

UPDATE_CONSTRAINTS: dict[str, list[checks.Constraint]] = {
    "model": [_STR], "strategy": [checks.Options(*STRATEGIES)],
    "canary_percent": [checks.Interval(_FLOAT, 0, 100)], "step_percent": [checks.Interval(_FLOAT, 0.01, 100)],
    "bake_seconds": [checks.Interval(_FLOAT, 0, 86_400)], "max_error_rate": [checks.Interval(_FLOAT, 0, 1)],
    "max_p99_ms": [checks.Interval(_FLOAT, 0.001, 3_600_000), checks.NONE],
    "min_requests": [checks.Interval(_INT, 0, 10_000_000)], "allow_unapproved": [_BOOL], "wait": [_BOOL],
    "timeout": [checks.Interval(_FLOAT, 0.1, 86_400)],
}
"""What :func:`update` (a deployment) accepts, parameter by parameter."""


@checks.validate_params(CREATE_CONSTRAINTS)
def create(name: str, model: str, *, mode: str = "realtime", min_replicas: int = 1, max_replicas: int = 1,
           target_in_flight: float = 4.0, max_concurrency: int = 4, max_queue: int = 16, max_body: int = 6 * 2**20,
           capture_percent: float = 0.0, idle_seconds: float = 60.0, serverless_concurrency: int = 10,
           port: int = 0, allow_unapproved: bool = False, webhook: str | None = None, max_attempts: int = 3,
           shadow: str | None = None, targets: list[str] | None = None, memory_budget: int = 512 * 2**20,
           feature_group: str | None = None, placement: str | None = None,
           replica_resources: dict[str, Any] | None = None, start: bool = True,
           timeout: float | None = None) -> Endpoint:
    """Create an endpoint for ``model`` (``GROUP:VERSION`` or ``GROUP@approved``) and start it.

    Every argument is checked against :data:`CREATE_CONSTRAINTS` before anything is looked up or stored;
    a value outside them raises :class:`~loopml.errors.InvalidParameter` naming the parameter, the
    allowed range or set and the value given.

    Args:
        name: 1-63 lowercase ASCII letters, digits and dashes, starting with a letter or digit.
        model: the model version to deploy; it must be Approved unless ``allow_unapproved`` (admin, audited).
        mode: ``realtime`` (min..max replicas), ``serverless`` (scale to zero) or ``async`` (queued).
        min_replicas: fewest replicas kept running (realtime; 0 or more, at most ``max_replicas``).
        max_replicas: most replicas the autoscaler starts (realtime; async workers); 1 or more.
        target_in_flight: the scaling rule: in-flight requests per replica the autoscaler aims at (0.01-10000).
        max_concurrency: predictions one replica runs at once (1-10000); more wait in its bounded queue.
        max_queue: requests that may wait per replica beyond ``max_concurrency`` (0-1000000); past it, 429.
        max_body: the largest request body in bytes (1 B to 1 TiB; default 6 MiB, as SageMaker).
        capture_percent: share of requests written to data capture, 0-100 (0: capture off).
        idle_seconds: serverless and async: stop replicas after this long without traffic (0.1 s to ten years).
        serverless_concurrency: serverless: requests served at once (1-10000); more get 429.
        port: the port the endpoint listens on (0: any free port; at most 65535).
        allow_unapproved: admin only, audited: deploy a version that is not Approved.
        webhook: async: a public http(s) URL notified of each success or failure (None: no notification).
        max_attempts: async: tries per request before it is Failed (1-1000).
        shadow: a model reference that receives a copy of the traffic; its answers are captured, not returned.
        targets: extra model references for a multi-model endpoint (``X-Target-Model`` picks one).
        memory_budget: bytes of models a multi-model endpoint keeps loaded (1 MiB to 1 PiB; default 512 MiB).
        feature_group: requests may carry only this group's entity keys; the endpoint joins the online
            features (the same definitions as training) before predicting.
        placement: ``local`` (replicas are processes of the endpoint's machine) or ``cluster`` (each replica
            held by a Ray actor on a node of the configured cluster); None: ``cluster`` when a cluster is set.
        replica_resources: what each replica asks of its node on a cluster, e.g. ``{"cpus": 1, "memory":
            "2GiB"}`` (default: no CPU reserved, so replicas share nodes with steps and jobs).
        start: start the endpoint process and wait until it is InService (False: only record it).
        timeout: how long to wait for that, 0.1-86400 s (None: 60 s, or 300 s with replicas on a cluster,
            where Ray places each one and its node fetches the model first).

    Returns:
        The stored endpoint (InService when ``start``).

    Raises:
        InvalidParameter: a value outside :data:`CREATE_CONSTRAINTS`.
        PermissionDenied: the version is not Approved and ``allow_unapproved`` was not given by an admin.
        ConflictError: an endpoint of that name exists.
    """
    names.check("endpoint", name, narrower=_NAME, rule="1-63 lowercase ASCII letters, digits and dashes, starting "
                "with a letter or digit", example="churn-live")
    if min_replicas > max_replicas:
        raise ValidationError(f"replicas min={min_replicas} max={max_replicas} are not valid; need min <= max",
                              parameter="min_replicas")
    if webhook:
        from loopml.core import net

        net.check_url(webhook)  # only public http(s) receivers; checked again at send time
    if feature_group:
        from loopml.features import get_feature_group

        get_feature_group(feature_group)
    placement, replica_resources = _placement(placement, replica_resources)
    actor = context.current_user()
    with context.get_db().write() as conn:
        variants = [_variant(model, allow_unapproved=allow_unapproved, conn=conn, actor=actor, endpoint=name)]
        if shadow:
            variants.append(_variant(shadow, allow_unapproved=allow_unapproved, conn=conn, actor=actor,
                                     endpoint=name, weight=0.0, shadow=True))
        extra = [_variant(t, allow_unapproved=allow_unapproved, conn=conn, actor=actor, endpoint=name, weight=0.0)
                 for t in targets or []]
        config = EndpointConfig.from_record({
            "variants": variants, "targets": extra, "memory_budget": memory_budget, "port": port,
            "scaling": {"min": min_replicas, "max": max_replicas, "target_in_flight": target_in_flight},
            "server": {"max_concurrency": max_concurrency, "max_queue": max_queue, "max_body": max_body},
            "serverless": {"idle_seconds": idle_seconds, "max_concurrency": serverless_concurrency},
            "async": {"max_attempts": max_attempts, "webhook": webhook}, "capture": {"percent": capture_percent},
            "feature_group": feature_group, "placement": placement, "replica_resources": replica_resources,
        }).to_record()
        _records.insert(conn, name=name, mode=mode, config=config, actor=actor)
        audit.append(conn, actor=actor, action="endpoint.create", resource=f"endpoint:{name}",
                     details={"mode": mode, "model": variants[0]["model"], "digest": variants[0]["digest"]})
    if start:
        return start_endpoint(name, timeout=timeout)
    return get(name)


def _placement(placement: str | None, resources: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """The checked placement (``local`` or ``cluster``) and replica resources."""
    from loopml.core import cluster

    if placement is None:
        placement = "cluster" if context.get_settings().cluster else "local"
    if placement not in ("local", "cluster"):
        raise ValidationError(f"placement {placement!r} is not 'local' or 'cluster'")
    resources = dict(resources or {"cpus": 0})
    unknown = set(resources) - {"cpus", "memory", "gpus", "custom"}
    if unknown:
        raise ValidationError(f"replica_resources has unknown key(s) {sorted(unknown)}; use cpus, memory, gpus, "
                              "custom")
    cluster.resources(**resources)  # checked now: negative or malformed amounts are refused here
    return placement, resources


def get(name: str) -> Endpoint:
    """The stored endpoint."""
    with context.get_db().read() as conn:
        return _records.get(conn, name)


def list_endpoints() -> list[dict[str, Any]]:
    """Every endpoint with its mode, model, observed status and URL."""
    with context.get_db().read() as conn:
        rows = _records.all_endpoints(conn)
    return [_summary(e) for e in rows]


def _summary(e: Endpoint) -> dict[str, Any]:
    serving = [v["model"] for v in e.variants if not v.get("shadow")]
    return {"name": e.name, "mode": e.mode, "models": serving, "status": observed_status(e),
            "url": e.runtime.get("url"), "updated_at": e.updated_at.isoformat()}


def is_running(e: Endpoint) -> bool:
    """Whether the endpoint's process recorded in the store is alive (pid and start time both match)."""
    pid, started = e.runtime.get("pid"), e.runtime.get("pid_started")
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        alive: bool = abs(proc.create_time() - float(started or 0)) < 1.0 and proc.status() != psutil.STATUS_ZOMBIE
        return alive
    except psutil.Error:
        return False


def observed_status(e: Endpoint) -> str:
    """The stored status, corrected by whether the process really runs."""
    if e.desired == "InService" and not is_running(e) and e.status not in ("Creating", "Failed"):
        return "OutOfService"
    if e.desired != "InService" and not is_running(e):
        return "Stopped"
    return e.status


def describe(name: str) -> dict[str, Any]:
    """Everything about an endpoint: config, deployment, runtime, and live figures when it runs."""
    e = get(name)
    doc = {**e.to_dict(), "status": observed_status(e), "created_at": e.created_at.isoformat(),
           "updated_at": e.updated_at.isoformat()}
    if is_running(e) and e.runtime.get("url"):
        try:
            doc["live"] = httpx.get(e.runtime["url"] + "/_endpoint/stats", timeout=2.0).json()
        except httpx.HTTPError:
            doc["live"] = None
    with context.get_db().read() as conn:
        doc["events"] = _records.list_events(conn, name, limit=20)
    return doc


def start_endpoint(name: str, *, timeout: float | None = None) -> Endpoint:
    """Start the endpoint process (if it is not running) and wait until it is InService (``timeout`` None:
    60 s, or 300 s for an endpoint whose replicas run on a cluster)."""
    e = get(name)
    if is_running(e):
        return e
    if timeout is None:
        timeout = 300.0 if e.typed_config.placement == "cluster" else 60.0
    with context.get_db().write() as conn:
        _records.update(conn, name, desired="InService", status="Creating")
    log = open(endpoint_dir(name) / "endpoint.log", "ab")  # noqa: SIM115 - handed to the child
    subprocess.Popen([sys.executable, "-m", "loopml.serve.controller", name], stdout=log, stderr=subprocess.STDOUT,
                     stdin=subprocess.DEVNULL, start_new_session=True, env=dict(os.environ))
    log.close()
    return wait_for(name, ("InService",), timeout=timeout)


def wait_for(name: str, states: tuple[str, ...], *, timeout: float = 60.0) -> Endpoint:
    """Poll until the endpoint's status is one of ``states``; raises :class:`Timeout` with the log tail."""
    deadline = time.monotonic() + timeout
    while True:
        e = get(name)
        if e.status in states and (e.status != "InService" or is_running(e)):
            return e
        if e.status == "Failed" and "Failed" not in states:
            raise ValidationError(f"endpoint {name!r} failed to start: {e.runtime.get('error')}; "
                                  f"log tail:\n{logs(name, tail=15)}")
        if time.monotonic() > deadline:
            raise Timeout(f"endpoint {name!r} is {e.status}, not {states}, after {timeout} s; see "
                          f"'loopml endpoint logs {name}'")
        time.sleep(0.1)


def stop_endpoint(name: str, *, timeout: float = 30.0) -> Endpoint:
    """Drain and stop the endpoint's processes; it stays defined (``start-all`` will not restart it)."""
    with context.get_db().write() as conn:
        _records.update(conn, name, desired="Stopped", actor=context.current_user())
    _terminate(get(name), timeout=timeout)
    with context.get_db().write() as conn:
        _records.update(conn, name, status="Stopped")
    return get(name)


def _terminate(e: Endpoint, *, timeout: float) -> None:
    if not is_running(e):
        return
    proc = psutil.Process(e.runtime["pid"])
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except psutil.TimeoutExpired:
        proc.kill()


def delete(name: str, *, timeout: float = 30.0) -> None:
    """Stop the endpoint and remove its definition (capture files and events stay for monitoring)."""
    stop_endpoint(name, timeout=timeout)
    actor = context.current_user()
    with context.get_db().write() as conn:
        _records.delete(conn, name)
        audit.append(conn, actor=actor, action="endpoint.delete", resource=f"endpoint:{name}", details={})


def start_all(*, timeout: float | None = None) -> list[str]:
    """Start every endpoint whose desired state is InService but whose process is not running."""
    with context.get_db().read() as conn:
        wanted = [e for e in _records.all_endpoints(conn) if e.desired == "InService" and not is_running(e)]
    for e in wanted:
        start_endpoint(e.name, timeout=timeout)
    return [e.name for e in wanted]


def logs(name: str, *, tail: int = 100) -> str:
    """The last ``tail`` lines of the endpoint's and its replicas' logs."""
    tail = checks.integer(tail, "tail", low=1, high=1_000_000)
    folder = endpoint_dir(get(name).name)
    lines: list[str] = []
    for path in sorted(folder.glob("*.log")):
        text = path.read_text(errors="replace").splitlines()[-tail:]
        lines += [f"[{path.stem}] {line}" for line in text]
    return "\n".join(lines[-tail:])


def invoke(name: str, body: bytes, *, content_type: str = "application/json", target: str | None = None,
           timeout: float = 30.0) -> httpx.Response:
    """Send one request to a running endpoint's ``/invocations`` (the router picks the variant)."""
    e = get(name)
    if not is_running(e):
        raise ValidationError(f"endpoint {name!r} is {observed_status(e)}; start it with 'loopml endpoint start-all'")
    headers = {"content-type": content_type, **({"x-target-model": target} if target else {})}
    return _client().post(e.runtime["url"] + "/invocations", content=body, headers=headers, timeout=timeout)


_CLIENTS: dict[int, httpx.Client] = {}


def _client() -> httpx.Client:
    """One kept-alive client per process for :func:`invoke` (a new client per call costs a TLS context and a
    connection each time: the demo's traffic spent most of its time there on a busy machine)."""
    pid = os.getpid()
    if pid not in _CLIENTS:
        _CLIENTS.clear()  # a client inherited through fork is never reused
        _CLIENTS[pid] = httpx.Client()
    return _CLIENTS[pid]


@checks.validate_params(UPDATE_CONSTRAINTS)
def update(name: str, model: str, *, strategy: str = "all_at_once", canary_percent: float = 10.0,
           step_percent: float = 25.0, bake_seconds: float = 0.0, max_error_rate: float = 0.05,
           max_p99_ms: float | None = None, min_requests: int = 10, allow_unapproved: bool = False,
           wait: bool = True, timeout: float = 300.0) -> dict[str, Any]:
    """Blue/green update of a running endpoint to ``model``; an alarm during bake time rolls back.

    Every argument is checked against :data:`UPDATE_CONSTRAINTS` before the endpoint is looked up.

    Args:
        name: the endpoint.
        model: the version to move to (``GROUP:VERSION`` or ``GROUP@approved``); it must be Approved unless
            ``allow_unapproved`` (admin, audited).
        strategy: ``all_at_once``, ``canary`` (``canary_percent`` for ``bake_seconds``, then all) or ``linear``
            (``step_percent`` more every ``bake_seconds``).
        canary_percent: canary: the new version's first share of traffic, 0-100.
        step_percent: linear: the share added at each step, 0.01-100.
        bake_seconds: how long each step is watched before the next (0-86400).
        max_error_rate: the green variant's 5xx rate that trips the alarm (after ``min_requests``), 0-1.
        max_p99_ms: the green variant's p99 latency that trips the alarm (None: not watched).
        min_requests: requests the green variant must have served before the alarm is judged.
        allow_unapproved: admin only, audited: deploy a version that is not Approved.
        wait: block until the deployment is Completed, RolledBack or Failed; returns its record.
        timeout: seconds to wait when ``wait`` (0.1-86400).

    Raises:
        InvalidParameter: a value outside :data:`UPDATE_CONSTRAINTS`.
        ConflictError: the endpoint is already deploying.
    """
    actor = context.current_user()
    from loopml.core import ids

    with context.get_db().write() as conn:
        e = _records.get(conn, name)
        if e.deployment.get("state") in ("Requested", "InProgress"):
            from loopml.errors import ConflictError

            raise ConflictError(f"endpoint {name!r} is already deploying ({e.deployment.get('id')}); wait for it")
        to = _variant(model, allow_unapproved=allow_unapproved, conn=conn, actor=actor, endpoint=name)
        dep = {"id": ids.new_id("dep"), "state": "Requested", "strategy": strategy, "to": to,
               "from": [v["model"] for v in e.variants if not v.get("shadow")], "canary_percent": canary_percent,
               "step_percent": step_percent, "bake_seconds": bake_seconds, "requested_by": actor,
               "alarm": {"max_error_rate": max_error_rate, "max_p99_ms": max_p99_ms, "min_requests": min_requests}}
        _records.update(conn, name, deployment=dep, actor=actor)
        audit.append(conn, actor=actor, action="endpoint.update_requested", resource=f"endpoint:{name}",
                     details={"to": to["model"], "digest": to["digest"], "strategy": strategy})
    event_logs.log_event(_log, "deploy.start", endpoint=name, deployment=dep["id"], model=to["model"], strategy=strategy,
                   actor=actor)
    if not wait:
        return dep
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = get(name).deployment
        if current.get("id") == dep["id"] and current.get("state") in ("Completed", "RolledBack", "Failed"):
            return current
        time.sleep(0.1)
    raise Timeout(f"deployment {dep['id']} of endpoint {name!r} did not finish in {timeout} s")


def rollback(name: str, *, wait: bool = True, timeout: float = 300.0) -> dict[str, Any]:
    """Return the endpoint to the previous Approved version of its model group (all at once)."""
    from loopml import registry
    from loopml.errors import NotFoundError

    current = next(v for v in get(name).variants if not v.get("shadow"))
    previous = registry.previous_approved(current["group"], current["version"])
    if previous is None:
        raise NotFoundError(f"{current['model']} has no earlier Approved version to roll back to", endpoint=name)
    return update(name, previous.name, wait=wait, timeout=timeout)


def flush_capture(name: str, *, timeout: float = 30.0) -> int:
    """Ask the running endpoint to upload every spooled capture record now; returns files recorded."""
    from loopml.serve import capture

    e = get(name)
    if not is_running(e):
        return capture.upload_spool(name, endpoint_dir(name) / "spool", include_current=True)
    with context.get_db().write() as conn:
        _records.update(conn, name, runtime={**e.runtime, "flush_requested": True})
    deadline = time.monotonic() + timeout
    while get(name).runtime.get("flush_requested") and time.monotonic() < deadline:
        time.sleep(0.1)
    return len(capture.list_files(name))
