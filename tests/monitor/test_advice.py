"""Choosing the serving mode from data: synthetic timelines whose right answer is known, and the advice over an
endpoint's own captured traffic and latency datapoints."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from loopml.monitor.advice import DEFAULT_PRICES, advise, advise_timeline, load_prices
from tests.monitor.capture_helpers import record, store

pytestmark = pytest.mark.timeout(600)
DAY = 86400


def test_steady_high_traffic_is_served_real_time():
    rng = np.random.default_rng(0)
    arrivals = np.sort(rng.uniform(0, 3 * 3600, 8 * 3 * 3600))  # 8 requests a second for three hours
    found = advise_timeline(arrivals, np.full(len(arrivals), 800), service_ms=250, cold_start_s=4, target_ms=500)
    assert found["recommended"] == "realtime", found["reasons"]
    modes = found["modes"]
    assert modes["serverless"]["cost_per_month"] > modes["realtime"]["cost_per_month"]  # busy: per-second billing loses
    assert modes["async"]["meets_target"] < 0.99 and modes["batch"]["meets_target"] < 0.01


def test_rare_bursts_are_served_serverless():
    rng = np.random.default_rng(0)
    starts = rng.uniform(0, 7 * DAY, 42)  # six bursts a day of 30 requests within a minute
    arrivals = np.concatenate([s + np.sort(rng.uniform(0, 60, 30)) for s in starts])
    found = advise_timeline(arrivals, np.full(len(arrivals), 800), service_ms=100, cold_start_s=4, target_ms=5000,
                            slo=0.95)
    assert found["recommended"] == "serverless", found["reasons"]
    assert found["modes"]["serverless"]["cold_starts"] >= 30  # a cold start per burst, within the target
    assert found["modes"]["realtime"]["cost_per_month"] > 50 * found["modes"]["serverless"]["cost_per_month"]
    assert found["traffic"]["idle_gaps_over_10min"] >= 30


def test_large_payloads_with_no_latency_need_go_async():
    rng = np.random.default_rng(0)
    arrivals = np.sort(rng.uniform(0, 2 * DAY, 150))
    found = advise_timeline(arrivals, np.full(len(arrivals), 30e6), service_ms=2000, cold_start_s=4)
    assert found["recommended"] == "async", found["reasons"]
    assert found["modes"]["realtime"]["refused"] == found["modes"]["serverless"]["refused"] == 150
    assert "no interactive target" in found["reasons"][0]


def test_nightly_scoring_is_a_batch_transform():
    rng = np.random.default_rng(0)
    arrivals = np.concatenate([d * DAY + 3600 + np.sort(rng.uniform(0, 1200, 2000)) for d in range(7)])
    found = advise_timeline(arrivals, np.full(len(arrivals), 5e6), service_ms=200, cold_start_s=4)
    assert found["recommended"] == "batch", found["reasons"]
    assert found["modes"]["batch"]["runs"] == 7
    assert found["modes"]["batch"]["cost_per_month"] < found["modes"]["async"]["cost_per_month"]
    assert found["traffic"]["share_in_busiest_hour"] > 0.99


def test_the_price_table_is_the_users_to_change(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"instance_per_hour": 0.01}))
    assert load_prices(path)["instance_per_hour"] == 0.01 and "your table" in load_prices(path)["source"]
    assert "check them" in DEFAULT_PRICES["source"]
    with pytest.raises(Exception, match="unknown price keys"):
        load_prices({"instance_per_hr": 1})
    starts = rng.uniform(0, 7 * DAY, 42)
    arrivals = np.concatenate([s + np.sort(rng.uniform(0, 60, 30)) for s in starts])
    cheap = advise_timeline(arrivals, np.full(len(arrivals), 800), service_ms=100, cold_start_s=4, target_ms=5000,
                            slo=0.95, prices={"instance_per_hour": 0.00001})
    assert cheap["recommended"] == "realtime"  # the same traffic, other prices: another answer


def test_advice_from_an_endpoints_captured_traffic_and_latency_datapoints(home, tmp_path):
    from loopml import monitor

    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=2)
    recs = []
    for b in range(12):  # rare bursts over two days
        burst = start + timedelta(hours=4 * b)
        recs += [record(f"b{b}-{i}", {"a": 1.0}, 0, burst + timedelta(seconds=2 * i)) for i in range(20)]
    store("scoring", recs, tmp_path / "spool")
    for minute in range(0, 120, 10):
        at = now - timedelta(hours=3, minutes=minute)
        monitor.put_metric("endpoint:scoring", "p50_latency_ms", 40.0, at=at)
        monitor.put_metric("endpoint:scoring", "p99_latency_ms", 90.0, at=at)
        monitor.put_metric("endpoint:scoring", "cold_start_s", 2.5, at=at)

    found = advise("scoring", window="7d", target_ms=4000, slo=0.95)

    assert found["traffic"]["requests"] == 240
    assert found["inputs"]["service_ms"] == 40.0 and found["inputs"]["cold_start_s"] == 2.5
    assert "datapoints" in found["inputs"]["measured"]["service_ms"]
    assert found["recommended"] == "serverless", found["reasons"]
    assert found["prices"]["instance_per_hour"] == DEFAULT_PRICES["instance_per_hour"]


def test_the_endpoint_page_shows_the_advice_with_its_reasoning_and_prices(home, tmp_path):
    from fastapi.testclient import TestClient

    from loopml.api import create_app
    from tests.api.conftest import make_users

    secrets = make_users(home)
    start = datetime.now(UTC) - timedelta(days=1)
    store("scoring", [record(f"e{i}", {"a": 1.0}, 0, start + timedelta(minutes=37 * i)) for i in range(30)],
          tmp_path / "spool")
    with TestClient(create_app(), base_url="http://127.0.0.1") as client:
        viewer = {"Authorization": f"Bearer {secrets['vic']}"}
        html = client.get("/api/v1/endpoints/scoring/advice/view", headers=viewer).json()["html"]
        assert "Recommended:" in html and "Prices used" in html and "check them" in html and "$ / month" in html
        empty = client.get("/api/v1/endpoints/quiet/advice/view", headers=viewer).json()["html"]
        assert "No advice yet" in empty and "too few" in empty
