"""Replay an arrival timeline through a model of each serving mode: who waits, who meets the target, what it costs.

Each mode is a small discrete-event model over the recorded arrival times (seconds, sorted), not an average:

* **real-time**: at least one instance always on; each hour the autoscaler runs as many instances as keep them
  below ``utilization`` of their throughput at that hour's arrival rate; requests queue FIFO for a free slot.
* **serverless**: containers start on demand (a cold start when none is warm), serve one request at a time,
  stay warm ``idle_s`` after their last request, at most ``max_concurrency`` at once (past that: throttled);
  billed per GB-second of processing and per request.
* **async**: requests go to a queue; an instance is started when the queue has work and none is up (instance
  provisioning plus the model's cold start), stays up ``cooldown_s`` after the queue empties; the caller gets
  the answer through the queue's notification (``overhead_s``); billed per instance-hour while up.
* **batch**: the requests wait for a scheduled transform job (every ``interval_s``, at the time of day that
  serves them soonest); each run pays a job start-up; billed per instance-second of the run.

Payloads above a mode's limit are refused by that mode (they neither meet the target nor cost).
"""

from __future__ import annotations

import heapq
import math
from typing import Any

import numpy as np

HOUR, DAY = 3600.0, 86400.0


def _result(latencies: list[float], refused: int, total: int, target_s: float, cost: float, days: float,
            **extra: Any) -> dict[str, Any]:
    served = np.asarray(latencies, dtype=float)
    meets = int(np.sum(served <= target_s)) if len(served) else 0
    return {"p50_ms": float(np.percentile(served, 50) * 1000) if len(served) else None,
            "p99_ms": float(np.percentile(served, 99) * 1000) if len(served) else None,
            "meets_target": meets / total if total else None, "refused": refused,
            "cost_per_month": cost / days * 30.0 if days > 0 else None, **extra}


def _fifo(arrivals: np.ndarray, service_s: float, slots: np.ndarray) -> list[float]:
    """Latency of each request through a FIFO queue whose slot count at each arrival is ``slots[i]``."""
    free: list[float] = []
    out = []
    for at, k in zip(arrivals, slots, strict=True):
        while len(free) < k:
            heapq.heappush(free, at)
        while len(free) > k and free[0] <= at:
            heapq.heappop(free)
        start = max(at, heapq.heappop(free))
        heapq.heappush(free, start + service_s)
        out.append(start + service_s - at)
    return out


def realtime(arrivals: np.ndarray, sizes: np.ndarray, p: dict[str, Any], prices: dict[str, Any]) -> dict[str, Any]:
    ok = sizes <= prices["realtime_max_payload_bytes"]
    times = arrivals[ok]
    start = float(arrivals[0]) if len(arrivals) else 0.0
    hours = np.floor((times - start) / HOUR).astype(int)
    span_hours = max(1, math.ceil(p["span_s"] / HOUR))
    counts = np.bincount(hours, minlength=span_hours)[:span_hours]
    per_instance = p["concurrency"] / p["service_s"]  # requests a second one instance sustains
    needed = np.maximum(p["min_instances"], np.ceil(counts / HOUR / (per_instance * p["utilization"]))).astype(int)
    slots = needed[np.minimum(hours, span_hours - 1)] * p["concurrency"]
    latencies = _fifo(times, p["service_s"], slots)
    cost = float(needed.sum()) * prices["instance_per_hour"] + _data_cost(sizes[ok], prices)
    return _result(latencies, int((~ok).sum()), len(arrivals), p["target_s"], cost, p["span_s"] / DAY,
                   instances={"min": int(needed.min()), "max": int(needed.max()), "mean": float(needed.mean())})


def serverless(arrivals: np.ndarray, sizes: np.ndarray, p: dict[str, Any], prices: dict[str, Any]) -> dict[str, Any]:
    ok = sizes <= prices["serverless_max_payload_bytes"]
    warm: list[float] = []  # when each warm container becomes free
    latencies, cold, throttled = [], 0, 0
    for at in arrivals[ok]:
        warm = [t for t in warm if t + p["idle_s"] >= at]  # containers idle too long were reclaimed
        free = [i for i, t in enumerate(warm) if t <= at]
        if free:
            i = free[0]
            warm[i] = at + p["service_s"]
            latencies.append(p["service_s"])
        elif len(warm) < p["serverless_concurrency"]:
            cold += 1
            warm.append(at + p["cold_start_s"] + p["service_s"])
            latencies.append(p["cold_start_s"] + p["service_s"])
        else:
            throttled += 1  # SageMaker answers 429: the request is not served
    served = int(ok.sum()) - throttled
    compute = served * p["service_s"] * prices["serverless_memory_gb"] * prices["serverless_per_gb_second"]
    cost = compute + served * prices["serverless_per_request"] + _data_cost(sizes[ok], prices)
    return _result(latencies, int((~ok).sum()) + throttled, len(arrivals), p["target_s"], cost, p["span_s"] / DAY,
                   cold_starts=cold, throttled=throttled)


def async_(arrivals: np.ndarray, sizes: np.ndarray, p: dict[str, Any], prices: dict[str, Any]) -> dict[str, Any]:
    ok = sizes <= prices["async_max_payload_bytes"]
    up_until, busy_until, uptime, starts = -math.inf, -math.inf, 0.0, 0
    up_since = 0.0
    latencies = []
    startup = prices["async_scale_from_zero_s"] + p["cold_start_s"]
    for at in arrivals[ok]:
        if at > up_until:  # the instance was scaled in: start one
            if up_until > -math.inf:
                uptime += up_until - up_since
            starts += 1
            up_since, busy_until = at, at + startup
        begin = max(at, busy_until)
        busy_until = begin + p["service_s"] / p["concurrency"]
        latencies.append(busy_until - at + prices["async_overhead_s"])
        up_until = busy_until + prices["async_cooldown_s"]
    if up_until > -math.inf:
        uptime += up_until - up_since
    cost = uptime / HOUR * prices["instance_per_hour"]
    return _result(latencies, int((~ok).sum()), len(arrivals), p["target_s"], cost, p["span_s"] / DAY,
                   instance_starts=starts, instance_hours=uptime / HOUR)


def batch(arrivals: np.ndarray, sizes: np.ndarray, p: dict[str, Any], prices: dict[str, Any]) -> dict[str, Any]:
    interval = prices["batch_interval_s"]
    best: dict[str, Any] | None = None
    for offset in np.arange(0, interval, min(600.0, interval)):  # the run time that serves requests soonest
        runs = offset + np.ceil((arrivals - offset) / interval) * interval
        waits = runs - arrivals
        if best is None or float(np.mean(waits)) < best["mean_wait"]:
            best = {"offset": float(offset), "runs": runs, "mean_wait": float(np.mean(waits))}
    if best is None:
        return _result([], 0, len(arrivals), p["target_s"], 0.0, p["span_s"] / DAY)
    latencies, cost, run_count = [], 0.0, 0
    for run in np.unique(best["runs"]):
        members = np.sum(best["runs"] == run)
        work = members * p["service_s"] / p["concurrency"]
        run_count += 1
        cost += (prices["batch_startup_s"] + work) / HOUR * prices["instance_per_hour"]
        waiting = arrivals[best["runs"] == run]
        done = run + prices["batch_startup_s"] + np.arange(1, members + 1) * p["service_s"] / p["concurrency"]
        latencies += list(done - waiting)
    return _result(latencies, 0, len(arrivals), p["target_s"], cost, p["span_s"] / DAY, runs=run_count,
                   run_at_s_of_interval=best["offset"])


def _data_cost(sizes: np.ndarray, prices: dict[str, Any]) -> float:
    cost: float = float(sizes.sum()) / 1e9 * prices["data_per_gb"]
    return cost


MODES = {"realtime": realtime, "serverless": serverless, "async": async_, "batch": batch}
