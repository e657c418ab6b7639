"""Rollouts: blue/green under continuous traffic, canary, automatic rollback, failed green, rollback command."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from loopml import serve
from loopml.serve._rollout import alarm, steps
from loopml.serve._router import Variant, VariantStats

ROW = json.dumps([{"a": 0.5, "b": -1.0, "c": 2.0}]).encode()


class Traffic:
    """Four keep-alive clients sending requests until stopped; every response is logged."""

    def __init__(self, url: str) -> None:
        self.url, self.log, self.stop = url, [], threading.Event()
        self.threads = [threading.Thread(target=self._run) for _ in range(4)]

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self.stop.is_set():
                try:
                    r = client.post("/invocations", content=ROW, headers={"content-type": "application/json"})
                    self.log.append((time.monotonic(), r.status_code, r.headers.get("x-model-digest")))
                except httpx.HTTPError as exc:
                    self.log.append((time.monotonic(), repr(exc), None))
                time.sleep(0.02)

    def __enter__(self) -> Traffic:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()


def test_strategy_steps_and_alarm_rules() -> None:
    assert steps({"strategy": "all_at_once"}) == [100.0]
    assert steps({"strategy": "canary", "canary_percent": 10}) == [10.0, 100.0]
    assert steps({"strategy": "linear", "step_percent": 30}) == [30.0, 60.0, 90.0, 100.0]
    green = Variant("g", {}, None, 0.0, stats=VariantStats())  # type: ignore[arg-type]
    green.stats.requests, green.stats.errors_5xx = 50, 3
    assert alarm(green, {"max_error_rate": 0.05}) and "error rate 6.0%" in alarm(green, {"max_error_rate": 0.05})
    green.stats.errors_5xx = 2
    assert alarm(green, {"max_error_rate": 0.05}) is None
    green.stats.latencies.extend([0.5] * 50)
    assert "p99 latency" in alarm(green, {"max_p99_ms": 100})


@pytest.mark.slow
def test_blue_green_canary_alarm_and_rollback_drop_no_request(served, home: Path) -> None:  # noqa: ANN001
    from loopml.core import audit, context

    v1, v2, v3 = served(0), served(1), served(2)
    ep = serve.create("churn-bg", f"churn:{v1.version}")
    with Traffic(ep.runtime["url"]) as traffic:
        time.sleep(1.0)
        done = serve.update("churn-bg", f"churn:{v2.version}", strategy="canary", canary_percent=30, bake_seconds=1.5)
        cutover = time.monotonic()
        assert done["state"] == "Completed"
        failed = serve.update("churn-bg", f"churn:{v3.version}", strategy="all_at_once", bake_seconds=5,
                              max_p99_ms=0.001, min_requests=5)
        assert failed["state"] == "RolledBack" and "p99 latency" in failed["reason"]
        back = serve.rollback("churn-bg")
        assert back["state"] == "Completed" and back["to"]["digest"] == v1.digest
        time.sleep(0.5)
    statuses = [status for _, status, _ in traffic.log]
    assert len(statuses) > 100 and set(statuses) == {200}, [s for s in statuses if s != 200][:5]
    after_cutover = [d for t, _, d in traffic.log if cutover + 0.5 < t < cutover + 1.0]
    assert after_cutover and set(after_cutover) == {v2.digest}
    assert {d for _, _, d in traffic.log[-8:]} == {v1.digest}
    described = serve.describe("churn-bg")
    assert [v["model"] for v in described["config"]["variants"]] == [v1.name]
    with context.get_db().read() as conn:
        actions = [e.action for e in audit.events(conn)]
    assert "endpoint.rollback" in actions and actions.count("endpoint.update") == 2
    serve.delete("churn-bg")


@pytest.mark.slow
def test_green_with_corrupted_artifact_never_gets_traffic(served, home: Path) -> None:  # noqa: ANN001
    from loopml.core import context

    v1, v2 = served(0), served(1)
    store = context.get_artifacts()
    model_file = next(f for f in store.read_manifest(v2.digest)["files"] if f["path"].endswith(".skops"))
    blob = home / "artifacts" / "sha256" / model_file["sha256"][7:9] / model_file["sha256"][7:]
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes()[:-10] + b"corrupted!")
    ep = serve.create("churn-bad", f"churn:{v1.version}")
    with Traffic(ep.runtime["url"]) as traffic:
        result = serve.update("churn-bad", f"churn:{v2.version}")
        time.sleep(0.3)
    assert result["state"] == "Failed" and "green never became ready" in result["reason"]
    assert {s for _, s, _ in traffic.log} == {200} and {d for _, _, d in traffic.log} == {v1.digest}
    serve.delete("churn-bad")
