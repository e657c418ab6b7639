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
    """Four keep-alive clients sending requests until stopped; every response is logged.

    ``log`` holds ``(answered_at, status, digest)``; ``sent`` the matching send times, so a test can ask
    which model answered the requests *sent* after a cutover (a request in flight at the cutover may
    still be answered by the model it reached).
    """

    def __init__(self, url: str) -> None:
        self.url, self.log, self.sent, self.stop = url, [], [], threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run) for _ in range(4)]

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self.stop.is_set():
                sent = time.monotonic()
                try:
                    r = client.post("/invocations", content=ROW, headers={"content-type": "application/json"})
                    entry = (time.monotonic(), r.status_code, r.headers.get("x-model-digest"))
                except httpx.HTTPError as exc:
                    entry = (time.monotonic(), repr(exc), None)
                with self.lock:
                    self.sent.append(sent)
                    self.log.append(entry)
                time.sleep(0.02)

    def digests_sent_after(self, since: float, count: int, deadline: float = 120.0) -> list[str | None]:
        """The digests of the first ``count`` requests sent after ``since``, waiting for them to be answered."""
        end = time.monotonic() + deadline
        while True:
            with self.lock:
                found = [d for s, (_, _, d) in zip(self.sent, self.log, strict=True) if s > since]
            if len(found) >= count or time.monotonic() > end:
                return found[:count]
            time.sleep(0.05)

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
        assert done["state"] == "Completed"
        after_cutover = traffic.digests_sent_after(time.monotonic(), 12)
        failed = serve.update("churn-bg", f"churn:{v3.version}", strategy="all_at_once", bake_seconds=5,
                              max_p99_ms=0.001, min_requests=5)
        assert failed["state"] == "RolledBack" and "p99 latency" in failed["reason"]
        back = serve.rollback("churn-bg")
        assert back["state"] == "Completed" and back["to"]["digest"] == v1.digest
        after_rollback = traffic.digests_sent_after(time.monotonic(), 8)
    statuses = [status for _, status, _ in traffic.log]
    assert len(statuses) > 100 and set(statuses) == {200}, [s for s in statuses if s != 200][:5]
    assert len(after_cutover) == 12 and set(after_cutover) == {v2.digest}
    assert len(after_rollback) == 8 and set(after_rollback) == {v1.digest}
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
        assert len(traffic.digests_sent_after(time.monotonic(), 4)) == 4  # traffic flows before the update
        result = serve.update("churn-bad", f"churn:{v2.version}")
        assert traffic.digests_sent_after(time.monotonic(), 4) == [v1.digest] * 4  # and after it, to blue
    assert result["state"] == "Failed" and "green never became ready" in result["reason"]
    assert {s for _, s, _ in traffic.log} == {200} and {d for _, _, d in traffic.log} == {v1.digest}
    serve.delete("churn-bad")


class CpuHogs:
    """Busy-looping processes, ``per_core`` per core, for the duration of a ``with`` block."""

    def __init__(self, per_core: int = 3) -> None:
        import multiprocessing
        import os

        self.procs = [multiprocessing.get_context("fork").Process(target=_spin, daemon=True)
                      for _ in range(per_core * (os.cpu_count() or 1))]

    def __enter__(self) -> CpuHogs:
        for proc in self.procs:
            proc.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            proc.kill()
            proc.join(10)


def _spin() -> None:
    x = 0
    while True:
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_strategy_and_rollback_fail_no_request_beside_cpu_hogs(served, home: Path) -> None:  # noqa: ANN001
    """Issue 16: with the CPU oversubscribed 3x, rollouts are slower, never wrong: zero failed requests."""
    v1, v2, v3 = served(0), served(1), served(2)
    ep = serve.create("churn-hog", f"churn:{v1.version}", timeout=600)
    with CpuHogs(3), Traffic(ep.runtime["url"]) as traffic:
        for version, strategy in ((v2, "all_at_once"), (v3, "canary"), (v2, "linear")):
            done = serve.update("churn-hog", f"churn:{version.version}", strategy=strategy, canary_percent=30,
                                step_percent=50, bake_seconds=1.0, timeout=600)
            assert done["state"] == "Completed", done
        back = serve.rollback("churn-hog", timeout=600)
        assert back["state"] == "Completed" and back["to"]["digest"] == v1.digest
        after_rollback = traffic.digests_sent_after(time.monotonic(), 4, deadline=600)
    statuses = [status for _, status, _ in traffic.log]
    assert len(statuses) > 20 and set(statuses) == {200}, [s for s in statuses if s != 200][:5]
    assert len(after_rollback) == 4 and set(after_rollback) == {v1.digest}
    serve.delete("churn-hog")
