"""The whole loop, unattended: prepare → train → evaluate → register → approve → deploy → capture →
drift → monitor → alarm → retrain → gate → approve → blue/green → lineage.

Three people take part, so separation of duties is real: ``dana`` (data scientist, also an approver)
trains and registers — and may not approve her own model; ``abe`` (approver) approves; ``ops`` (admin)
sets up the platform. Each phase reports through ``say``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

ENDPOINT = "churn"
GROUP = "churn"
PEOPLE = {"ops": ["admin"], "dana": ["data-scientist", "approver"], "abe": ["approver"]}


@contextmanager
def acting_as(user: str) -> Iterator[None]:
    """Run the block as ``user`` (embedded identity); pipeline workers inherit it."""
    previous = os.environ.get("LOOPML_USER")
    os.environ["LOOPML_USER"] = user
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("LOOPML_USER", None)
        else:
            os.environ["LOOPML_USER"] = previous


def _setup_people() -> None:
    from loopml.core import context, identity

    with context.get_db().write() as conn:
        for user, roles in PEOPLE.items():
            for role in roles:
                identity.grant(conn, user, role, actor="ops")


def _train(target: str, params: dict[str, Any], on_event: Any) -> Any:
    from loopml.pipelines import run

    with acting_as("dana"):
        return run(target, params=params, on_event=on_event)  # local here; ray when a cluster is set


def _feature_rows(recipe: str, *, seed: int, drift: float, n: int) -> list[dict[str, float]]:
    """What the churn app sends: new customers' features, computed by the stored recipe the serving model was
    trained with (the same transform that ran at ingest)."""
    from loopml.data import load_recipe
    from loopml.demo.churn_data import make_churn
    from loopml.demo.pipeline_ref import load_example

    raw = make_churn(n, seed=seed, drift=drift)
    table = load_recipe(recipe).transform(raw)[load_example().FEATURES].astype("float64")
    records: list[dict[str, float]] = table.to_dict(orient="records")
    return records


def _send(rows: list[dict[str, float]]) -> dict[str, int]:
    from loopml import serve

    codes: dict[str, int] = {}
    for row in rows:
        status = str(serve.invoke(ENDPOINT, json.dumps({"instances": [row]}).encode()).status_code)
        codes[status] = codes.get(status, 0) + 1
    return codes


class _Traffic(threading.Thread):
    """Steady traffic during a rollout; counts every answer that is not a 200."""

    def __init__(self, rows: list[dict[str, float]]) -> None:
        super().__init__(daemon=True)
        self.rows, self.sent, self.failed, self.stop = rows, 0, 0, threading.Event()

    def run(self) -> None:
        from loopml import serve

        while not self.stop.is_set():
            row = self.rows[self.sent % len(self.rows)]
            try:
                ok = serve.invoke(ENDPOINT, json.dumps({"instances": [row]}).encode()).status_code == 200
            except Exception:  # noqa: BLE001 - a connection error is a failed request, counted
                ok = False
            self.sent += 1
            self.failed += 0 if ok else 1


def _latency() -> str:
    """The endpoint's own latency figures (from its /metrics histograms, via describe)."""
    from loopml import serve

    live = serve.describe(ENDPOINT).get("live") or {}
    variant = (live.get("variants") or [{}])[0]
    if not variant.get("p50_ms"):
        return "no live figures"
    return (f"endpoint latency p50 {variant['p50_ms']:.1f} ms, p99 {variant['p99_ms']:.1f} ms over "
            f"{variant['requests']} requests, {variant['errors_5xx']} errors")


def _monitor_once(window_minutes: float = 30) -> Any:
    from loopml import monitor, serve
    from loopml.core import clock

    serve.flush_capture(ENDPOINT)
    end = clock.now()
    return monitor.run_monitor("churn-data-quality", window_start=end - timedelta(minutes=window_minutes),
                               window_end=end)


def run_loop(*, say: Callable[[str], None] = print, on_event: Any = None) -> dict[str, Any]:
    """Run the whole loop once and return what happened (for the summary and the tests)."""
    from loopml import events, monitor, registry, serve
    from loopml.core import clock
    from loopml.demo.pipeline_ref import example_target

    started = time.monotonic()
    target, path = example_target(), []
    if registry.list_groups():
        from loopml.core import context
        from loopml.errors import ConflictError

        raise ConflictError(f"{context.get_settings().home} already holds models; run the demo in an empty home "
                            "(make demo uses a fresh .loopml-demo, or set LOOPML_HOME to a new folder)")
    _setup_people()

    say("1. prepare → train → evaluate → register  (dana runs the churn pipeline)")
    first = _train(target, {"seed": 0, "drift": 0.0}, on_event)
    champion = registry.resolve(f"{GROUP}@latest")
    path.append(f"pipeline {first.id} {first.status}: registered {champion.name} ({champion.status})")
    again = _train(target, {"seed": 0, "drift": 0.0}, on_event)
    cached = sum(s.cache_hit for s in again.steps)
    say(f"   the same run again: {cached} of {len(again.steps)} steps were cache hits (nothing retrained)")
    path.append(f"re-run {again.id}: {cached} cache hits, no new version")

    say("2. approve  (dana is an approver too, but may not approve her own model; abe does)")
    with acting_as("dana"):
        try:
            registry.approve(GROUP, champion.version, note="looks fine to me")
        except Exception as exc:  # noqa: BLE001 - the refusal is what we want to show
            say(f"   refused: {str(exc).split(';')[0]}")
    with acting_as("abe"):
        registry.approve(GROUP, champion.version, note="metrics and bias table checked")
    path.append(f"{champion.name} approved by abe")

    say("3. deploy  a real-time endpoint with data capture, and send traffic")
    with acting_as("ops"):
        if any(e["name"] == ENDPOINT for e in serve.list_endpoints()):
            serve.delete(ENDPOINT)
        serve.create(ENDPOINT, f"{GROUP}@approved", capture_percent=100.0, max_concurrency=8)
    recipe = champion.lineage["recipe"]
    clean = _send(_feature_rows(recipe, seed=10, drift=0.0, n=150))
    say(f"   150 requests: {clean}; {_latency()}")
    path.append(f"endpoint {ENDPOINT} serving {champion.name}, capture 100%")

    say("4. monitor  baseline from the training features; schedule, alarm and retraining rule")
    from loopml.pipelines import default_executor

    with acting_as("ops"):
        base = monitor.create_baseline(_feature_frame(first))
        for name in ("churn-data-quality",):
            if any(s.name == name for s in monitor.list_schedules()):
                monitor.delete_schedule(name)
        monitor.create_monitoring_schedule("churn-data-quality", ENDPOINT, statistics=base.statistics_digest,
                                           constraints=base.constraints_digest, interval_seconds=3600,
                                           window_seconds=1800, settings={"min_rows": 50})
        monitor.put_alarm("churn-input-drift", source="schedule:churn-data-quality", metric="violations",
                          threshold=0, datapoints_to_alarm=1, evaluation_periods=1, period_seconds=3600,
                          replace=True)
        events.put_rule("retrain-on-drift",
                        {"detail-type": ["Alarm State Change"],
                         "detail": {"alarm": ["churn-input-drift"], "state": ["ALARM"]}},
                        [{"type": "pipeline", "pipeline": target, "params": {"seed": 1, "drift": 1.0},
                          "executor": default_executor(), "wait": True}], cooldown_seconds=3600, replace=True)
        events.put_rule("rollout-on-approval",
                        {"detail-type": ["Model Version State Change"],
                         "detail": {"group": [GROUP], "state": ["Approved"]}},
                        [{"type": "deploy", "endpoint": ENDPOINT, "model": "$.detail.model",
                          "strategy": "all_at_once"}], cooldown_seconds=0, replace=True)
    calm = _monitor_once()
    monitor.evaluate_alarms()
    say(f"   clean traffic: {calm.status}, {calm.violations} violations")

    say("5. drift  the market moves: new customers look different")
    drifted = _send(_feature_rows(recipe, seed=11, drift=1.0, n=300))
    storm = _monitor_once(window_minutes=1)
    say(f"   300 drifted requests: {drifted}; monitor: {storm.status}, {storm.violations} violations")
    path.append(f"data-quality monitor: {storm.status} ({storm.violations} violations)")

    say("6. alarm → event → rule → retraining pipeline  (the gate compares with the champion)")
    changes = monitor.evaluate_alarms()
    for change in changes:
        path.append(f"alarm {change.alarm}: {change.old_state} → {change.new_state}")
    with acting_as("dana"):
        actions = events.process_events()
    for action in actions:
        path.append(f"rule {action.rule}: {action.kind} {action.status}")
    challenger = registry.resolve(f"{GROUP}@latest")
    if challenger.version == champion.version:
        say("   the challenger did not pass the gate: the champion keeps serving")
        return _finish(say, path, champion, started, rolled_out=False)
    report = registry.card(GROUP, challenger.version).get("evaluation") or {}
    for rule in (report.get("gate") or {}).get("rules", []):
        say(f"   gate: {'pass' if rule['passed'] else 'FAIL'}  {rule['rule']}  ({rule.get('reason', '')[:80]})")
    path.append(f"challenger {challenger.name} passed the gate against {champion.name}")

    say("7. approve → blue/green rollout  (a rule deploys every approved version)")
    traffic = _Traffic(_feature_rows(challenger.lineage["recipe"], seed=12, drift=1.0, n=100))
    traffic.start()
    with acting_as("abe"):
        registry.approve(GROUP, challenger.version, note="beats the champion on recent customers")
        rollout = events.process_events()
    traffic.stop.set()
    traffic.join(10)
    for action in rollout:
        path.append(f"rule {action.rule}: {action.kind} {action.status}")
    serving = [v["model"] for v in serve.get(ENDPOINT).variants if not v.get("shadow")]
    say(f"   now serving {serving}; {traffic.sent} requests during the rollout, {traffic.failed} failed")
    path.append(f"endpoint {ENDPOINT} now serves {', '.join(serving)} ({traffic.failed} failed requests)")
    return _finish(say, path, registry.resolve(serving[0]), started, rolled_out=True,
                   traffic=(traffic.sent, traffic.failed), clock_now=clock.now())


def _feature_frame(execution: Any) -> Any:
    from loopml.demo.pipeline_ref import load_example
    from loopml.pipelines import output

    frame = output(execution.id, "training_set")
    return frame[frame["split"] == "train"][load_example().FEATURES]


def _finish(say: Callable[[str], None], path: list[str], serving: Any, started: float, **facts: Any) -> dict[str, Any]:
    from loopml import serve

    with acting_as("ops"):
        serve.stop_endpoint(ENDPOINT, timeout=30)
    return {"path": path, "serving": serving.name, "seconds": time.monotonic() - started, **facts}
