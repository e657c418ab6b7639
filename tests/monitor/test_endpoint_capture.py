"""A running endpoint's capture: SageMaker's layout on disk, the caller's ids carried through the router,
and `monitor run` seeing the open hour without any Python-only flush."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest
import typer
from typer.testing import CliRunner

from loopml import monitor, serve
from loopml.serve import capture
from tests.serve.conftest import fitted

LAYOUT = re.compile(r"^churn-live/[^/]+/\d{4}/\d{2}/\d{2}/\d{2}/\d{2}-\d{2}-[0-9a-f-]{36}\.jsonl$")


def _wait_until_spooled(name: str, count: int, deadline: float = 60.0) -> None:
    """Replicas write capture from a background thread; wait (on the files) until all records are on disk."""
    from loopml.serve.endpoints import endpoint_dir

    end = time.monotonic() + deadline
    while time.monotonic() < end:
        lines = sum(len(p.read_text().splitlines()) for p in (endpoint_dir(name) / "spool").rglob("*.jsonl"))
        if lines >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"only {lines} of {count} records reached the spool")


@pytest.mark.slow
def test_monitor_run_sees_the_open_hour_and_ids_pass_through_the_router(served, home):
    served()
    serve.create("churn-live", "churn@approved", capture_percent=100)
    url = serve.get("churn-live").runtime["url"]
    _, frame = fitted(n=60)
    rows = frame.to_dict(orient="records")
    with httpx.Client(base_url=url, timeout=30) as client:
        for i, row in enumerate(rows):
            body = [list(row.values())] if i % 2 else {"instances": [row]}  # rows and records
            headers = {"X-Amzn-SageMaker-Inference-Id": f"order-{i}"} if i % 3 == 0 else {}
            if i == 0:
                headers["X-Amzn-SageMaker-Custom-Attributes"] = "tenant=acme"
            assert client.post("/invocations", json=body, headers=headers).status_code == 200
    _wait_until_spooled("churn-live", len(rows))
    b = monitor.create_baseline(frame)
    monitor.create_monitoring_schedule("live-dq", "churn-live", statistics=b.statistics_digest,
                                       constraints=b.constraints_digest, interval_seconds=3600)
    ex = monitor.run_monitor("live-dq")  # the window ends now, inside the open hour
    assert (ex.item_count, ex.metrics["undecodable_records"]) == (len(rows), 0)
    keys = [f["key"] for f in capture.list_files("churn-live")]
    assert keys and all(LAYOUT.match(k) for k in keys), keys
    records = sorted(capture.read_records("churn-live"), key=lambda r: r["eventMetadata"]["inferenceTime"])
    with_ids = [r["eventMetadata"] for r in records if "inferenceId" in r["eventMetadata"]]
    assert sorted(m["inferenceId"] for m in with_ids) == sorted(f"order-{i}" for i in range(0, len(rows), 3))
    assert [m.get("customAttributes") for m in with_ids if m["inferenceId"] == "order-0"] == ["tenant=acme"]


@pytest.mark.slow
def test_flush_capture_command_makes_the_open_hour_visible(served, home):
    from loopml.cli import endpoint as endpoint_cli

    served()
    serve.create("churn-live", "churn@approved", capture_percent=100)
    assert serve.invoke("churn-live", json.dumps([[0.1, 0.2, 0.3]]).encode()).status_code == 200
    _wait_until_spooled("churn-live", 1)
    app = typer.Typer()
    app.add_typer(endpoint_cli.app, name="endpoint")
    result = CliRunner().invoke(app, ["endpoint", "flush-capture", "churn-live"], catch_exceptions=False)
    assert result.exit_code == 0 and "capture files under" in result.output
    assert len(capture.read_records("churn-live")) == 1
