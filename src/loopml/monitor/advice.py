"""Choose the serving mode from data: the cost-and-SLA decision made from an endpoint's recorded traffic.

:func:`advise` reads what the endpoint recorded — the arrival time and payload size of every captured request
(scaled up when capture samples), latency per request and the replica's throughput (its datapoints or live
figures), the measured cold start — and replays the arrival timeline through a model of real-time (with its
autoscaling), serverless, async and batch transform (:mod:`loopml.monitor._simulate`). For each it gives the
expected p50/p99 latency, the fraction of requests that would meet the latency target, and the cost per month
under a price table; then recommends the cheapest mode that meets the target for ``slo`` of requests, with the
reasons and the figures it used. :func:`advise_timeline` does the same for any timeline.

The default prices are AWS's published SageMaker prices (us-east-1, ``DEFAULT_PRICES["source"]`` says which
and when); they are the user's to check, and ``prices=`` (a dict or a JSON/TOML file) replaces any of them.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from loopml.core import clock
from loopml.errors import LoopmlError, ValidationError
from loopml.serve.capture import inference_time

#: Published on-demand prices, us-east-1, as read from AWS's SageMaker pricing page. Check them: they are yours.
DEFAULT_PRICES: dict[str, Any] = {
    "source": "AWS SageMaker on-demand prices, us-east-1, as published in 2024 (aws.amazon.com/sagemaker/pricing); "
              "check them before deciding: they change, and differ by region and instance",
    "instance_type": "ml.m5.large",
    "instance_per_hour": 0.115,            # real-time, asynchronous and batch transform on ml.m5.large
    "serverless_per_gb_second": 0.00002,   # serverless inference compute, per GB of memory per second
    "serverless_memory_gb": 2.0,
    "serverless_per_request": 0.0,         # SageMaker serverless bills no per-request fee
    "data_per_gb": 0.016,                  # data processed in and out (real-time and serverless)
    "realtime_max_payload_bytes": 6 * 2**20,
    "serverless_max_payload_bytes": 4 * 2**20,
    "async_max_payload_bytes": 2**30,
    "async_scale_from_zero_s": 300.0,      # provisioning an instance when the queue wakes a scaled-in endpoint
    "async_cooldown_s": 600.0,             # the instance stays this long after the queue empties
    "async_overhead_s": 1.0,               # the answer travels through the output location and a notification
    "batch_interval_s": 86400.0,           # one scheduled transform a day
    "batch_startup_s": 300.0,              # a transform job's start-up, billed
}
MODES = ("realtime", "serverless", "async", "batch")


def load_prices(prices: dict[str, Any] | str | Path | None) -> dict[str, Any]:
    """The default table with ``prices`` laid over it (a dict, or a ``.json``/``.toml`` file of the same keys)."""
    given: dict[str, Any] = {}
    if isinstance(prices, dict):
        given = prices
    elif prices is not None:
        from loopml.core import userfiles

        text = userfiles.read_bytes(Path(prices), "price table").decode()
        if str(prices).endswith(".toml"):
            import tomllib

            given = tomllib.loads(text)
        else:
            given = json.loads(text)
    unknown = sorted(set(given) - set(DEFAULT_PRICES))
    if unknown:
        raise ValidationError(f"unknown price keys {unknown}; the table has {sorted(DEFAULT_PRICES)}")
    table = {**DEFAULT_PRICES, **given}
    if given and "source" not in given:
        table["source"] = f"your table laid over: {DEFAULT_PRICES['source']}"
    return table


def advise_timeline(arrivals: Any, sizes: Any, *, service_ms: float, cold_start_s: float, concurrency: int = 4,
                    target_ms: float | None = None, max_wait_s: float = 3600.0, slo: float = 0.99,
                    idle_s: float = 60.0, serverless_concurrency: int = 10, prices: Any = None,
                    measured: dict[str, Any] | None = None) -> dict[str, Any]:
    """Simulate every mode over ``arrivals`` (seconds, any origin) and recommend one.

    Args:
        arrivals: request arrival times in seconds.
        sizes: each request's payload bytes.
        service_ms: the time one request takes on a warm replica (p50 of the endpoint's latency).
        cold_start_s: the measured time to start a replica and load the model.
        concurrency: requests one replica serves at once (its throughput is concurrency / service time).
        target_ms: the latency target; None means no interactive target: an answer within ``max_wait_s``.
        max_wait_s: without ``target_ms``, the longest a request may wait for its answer.
        slo: the fraction of requests that must meet the target.
        idle_s: how long a serverless container stays warm after its last request.
        serverless_concurrency: the most serverless containers at once.
        prices: a price table (see :func:`load_prices`).
        measured: where each figure came from, shown with the advice.

    Returns:
        ``{"recommended", "reasons", "modes": {mode: figures}, "traffic", "inputs", "prices"}``.
    """
    times = np.sort(np.asarray(arrivals, dtype=float))
    if len(times) < 2:
        raise ValidationError(f"{len(times)} request(s) recorded: too few to advise on; widen the window or turn "
                              "capture on (capture_percent) and let traffic arrive")
    payload = np.asarray(sizes, dtype=float)[np.argsort(np.asarray(arrivals, dtype=float))]
    table = load_prices(prices)
    target_s = target_ms / 1000 if target_ms is not None else max_wait_s
    span = max(float(times[-1] - times[0]), 3600.0)
    params = {"service_s": service_ms / 1000, "cold_start_s": cold_start_s, "concurrency": concurrency,
              "target_s": target_s, "span_s": span, "idle_s": idle_s, "serverless_concurrency": serverless_concurrency,
              "min_instances": 1, "utilization": 0.7}
    from loopml.monitor._simulate import MODES as SIMULATORS

    modes = {name: SIMULATORS[name](times, payload, params, table) for name in MODES}
    traffic = describe_traffic(times, payload)
    chosen, reasons = _recommend(modes, traffic, slo=slo, target_s=target_s, explicit=target_ms is not None)
    return {"recommended": chosen, "reasons": reasons, "modes": modes, "traffic": traffic,
            "inputs": {"service_ms": service_ms, "cold_start_s": cold_start_s, "concurrency": concurrency,
                       "replica_throughput_rps": concurrency / (service_ms / 1000), "target_ms": target_ms,
                       "max_wait_s": None if target_ms is not None else max_wait_s, "slo": slo,
                       "idle_s": idle_s, "measured": measured or {}},
            "prices": table}


def describe_traffic(times: np.ndarray, sizes: np.ndarray) -> dict[str, Any]:
    """Arrival rate over the day, burstiness, idle gaps and payload sizes of a timeline."""
    gaps = np.diff(times)
    span = max(float(times[-1] - times[0]), 1.0)
    hours = np.bincount(((times % 86400) // 3600).astype(int), minlength=24)
    days = max(span / 86400, 1 / 24)
    mean_gap = float(gaps.mean()) if len(gaps) else None
    return {"requests": len(times), "span_hours": span / 3600, "mean_rate_per_s": len(times) / span,
            "peak_hour_rate_per_s": float(hours.max() / 3600 / math.ceil(days)),
            "busiest_hour_utc": int(hours.argmax()), "share_in_busiest_hour": float(hours.max() / len(times)),
            "burstiness": float(gaps.std() / mean_gap) if mean_gap else None,
            "idle_gaps_over_10min": int(np.sum(gaps > 600)), "longest_idle_gap_s": float(gaps.max()) if len(gaps) else 0,
            "payload_p50_bytes": float(np.percentile(sizes, 50)), "payload_max_bytes": float(sizes.max()),
            "requests_per_hour_of_day": hours.tolist()}


def _recommend(modes: dict[str, dict[str, Any]], traffic: dict[str, Any], *, slo: float, target_s: float,
               explicit: bool) -> tuple[str, list[str]]:
    what = f"within {target_s * 1000:.0f} ms" if explicit else f"within {target_s:.0f} s (no interactive target)"
    meeting = {m: f for m, f in modes.items() if (f["meets_target"] or 0) >= slo}
    reasons = []
    for mode, f in modes.items():
        cost = f"${f['cost_per_month']:.2f}/month" if f["cost_per_month"] is not None else "no cost"
        share = f"{(f['meets_target'] or 0) * 100:.1f} %"
        refused = f", refuses {f['refused']} request(s)" if f["refused"] else ""
        reasons.append(f"{mode}: {share} of requests answered {what}, p99 "
                       f"{_ms(f['p99_ms'])}, {cost}{refused}")
    if meeting:
        chosen = min(meeting, key=lambda m: meeting[m]["cost_per_month"] or 0.0)
        others = sorted(meeting, key=lambda m: meeting[m]["cost_per_month"] or 0.0)
        lead = (f"{chosen} is the cheapest mode that answers at least {slo * 100:.0f} % of requests {what}"
                + (f" (next: {others[1]} at ${meeting[others[1]]['cost_per_month']:.2f}/month)" if len(others) > 1
                   else "; no other mode does"))
    else:
        chosen = max(modes, key=lambda m: modes[m]["meets_target"] or 0.0)
        lead = (f"no mode answers {slo * 100:.0f} % of requests {what}; {chosen} comes closest "
                f"({(modes[chosen]['meets_target'] or 0) * 100:.1f} %)")
    shape = (f"traffic: {traffic['requests']} requests over {traffic['span_hours']:.1f} h, "
             f"{traffic['mean_rate_per_s']:.3g}/s on average, {traffic['share_in_busiest_hour'] * 100:.0f} % in the "
             f"busiest hour, burstiness {traffic['burstiness'] or 0:.2f}, {traffic['idle_gaps_over_10min']} idle gaps "
             f"over 10 min, payloads up to {traffic['payload_max_bytes'] / 2**20:.2f} MiB")
    return chosen, [lead, shape, *reasons]


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} ms" if value < 60_000 else f"{value / 60_000:.1f} min"


def advise(endpoint: str, *, window: str | float | timedelta = "7d", target_ms: float | None = None,
           max_wait_s: float = 3600.0, slo: float = 0.99, prices: Any = None,
           end: datetime | None = None) -> dict[str, Any]:
    """Advise on ``endpoint`` from its recorded traffic and metrics over the last ``window``.

    Raises:
        ValidationError: too few captured requests in the window.
    """
    from loopml.evaluate.replay import parse_window
    from loopml.serve import capture

    stop = clock.as_utc(end) if end else clock.now()
    start = stop - parse_window(window)
    records = capture.read_records(endpoint, start=start, end=stop)
    arrivals, sizes = [], []
    for record in records:
        at = inference_time(record)
        if at is not None and start <= at < stop:
            arrivals.append(at.timestamp())
            sizes.append(len(str(record.get("captureData", {}).get("endpointInput", {}).get("data", "")).encode()))
    config = _config(endpoint)
    percent = float(config.get("capture_percent") or 100.0)
    if 0 < percent < 100 and arrivals:  # capture samples: every captured request stands for 100/percent
        arrivals, sizes = _scale(arrivals, sizes, 100.0 / percent)
    service_ms, p99_ms, cold_s, measured = _service(endpoint, start)
    found = advise_timeline(arrivals, sizes, service_ms=service_ms, cold_start_s=cold_s,
                            concurrency=int(config.get("max_concurrency") or 4), target_ms=target_ms,
                            max_wait_s=max_wait_s, slo=slo, idle_s=float(config.get("idle_seconds") or 60.0),
                            serverless_concurrency=int(config.get("serverless_concurrency") or 10), prices=prices,
                            measured={**measured, "capture_percent": percent, "p99_ms": p99_ms})
    found.update(endpoint=endpoint, window={"start": start.isoformat(), "end": stop.isoformat()},
                 current_mode=config.get("mode"))
    return found


def _scale(arrivals: list[float], sizes: list[int], factor: float) -> tuple[list[float], list[int]]:
    rng = np.random.default_rng(0)
    times = np.asarray(arrivals)
    gaps = np.diff(np.sort(times), prepend=times.min())
    extra = int(round(len(times) * (factor - 1)))
    picks = rng.integers(0, len(times), extra)
    new = times[picks] - rng.random(extra) * np.maximum(gaps[picks], 1e-3)
    return list(times) + list(new), list(sizes) + [sizes[i] for i in picks]


def _config(endpoint: str) -> dict[str, Any]:
    from loopml import serve

    try:
        found = serve.get(endpoint)
    except LoopmlError:
        return {}
    config = dict(getattr(found, "config", {}) or {})
    config.setdefault("mode", getattr(found, "mode", None))
    serverless = config.get("serverless") or {}
    config.setdefault("idle_seconds", serverless.get("idle_seconds"))
    config.setdefault("serverless_concurrency", serverless.get("max_concurrency"))
    return config


def _service(endpoint: str, since: datetime) -> tuple[float, float | None, float, dict[str, str]]:
    """Warm latency per request (p50, p99, ms) and cold start (s), from the endpoint's datapoints or live figures."""
    from loopml.monitor.metric_alarms import metric_series

    source = f"endpoint:{endpoint}"
    measured: dict[str, str] = {}

    def median(metric: str) -> float | None:
        values = [v for _, v in metric_series(source, metric, since=since) if v is not None]
        return float(np.median(values)) if values else None

    p50, p99, cold = median("p50_latency_ms"), median("p99_latency_ms"), median("cold_start_s")
    live = _live(endpoint)
    if p50 is None and live.get("p50_ms"):
        p50, p99 = float(live["p50_ms"]), live.get("p99_ms")
        measured["service_ms"] = "the running endpoint's live p50"
    elif p50 is not None:
        measured["service_ms"] = "median of the endpoint's p50_latency_ms datapoints in the window"
    if cold is None and live.get("cold_starts_s"):
        cold = float(np.median(live["cold_starts_s"]))
        measured["cold_start_s"] = "the running endpoint's measured cold starts"
    elif cold is not None:
        measured["cold_start_s"] = "median of the endpoint's cold_start_s datapoints"
    if p50 is None:
        p50 = 50.0
        measured["service_ms"] = "not measured (no latency datapoints): assumed 50 ms"
    if cold is None:
        cold = 5.0
        measured["cold_start_s"] = "not measured (no cold start recorded): assumed 5 s"
    return p50, p99, cold, measured


def _live(endpoint: str) -> dict[str, Any]:
    from loopml import serve

    try:
        variants = (serve.describe(endpoint).get("live") or {}).get("variants") or []
    except LoopmlError:
        return {}
    return dict(variants[0]) if variants else {}
