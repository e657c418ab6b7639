"""Prometheus metrics of a model server: invocations, errors by status, model and overhead latency.

Model latency is the time inside the model's predict call; overhead latency is everything else the
server spends on a request (decode, validate, encode), as SageMaker reports ``ModelLatency`` and
``OverheadLatency`` separately.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ServerMetrics:
    """The metric set of one server process, in its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        reg = self.registry
        self.invocations = Counter("loopml_invocations", "Prediction requests received", ["model"], registry=reg)
        self.errors = Counter("loopml_invocation_errors", "Requests answered with an error, by HTTP status",
                              ["status"], registry=reg)
        self.model_latency = Histogram("loopml_model_latency_seconds", "Time inside the model's predict call",
                                       ["model"], buckets=_BUCKETS, registry=reg)
        self.overhead_latency = Histogram("loopml_overhead_latency_seconds",
                                          "Server time per request outside the model", buckets=_BUCKETS,
                                          registry=reg)
        self.in_flight = Gauge("loopml_in_flight_requests", "Prediction requests being served now", registry=reg)
        self.rejected = Counter("loopml_rejected", "Requests refused because the replica was saturated",
                                registry=reg)
        self.capture_records = Counter("loopml_capture_records", "Data-capture records written", registry=reg)
        self.capture_dropped = Counter("loopml_capture_dropped", "Data-capture records dropped (full disk "
                                       "or full buffer); predictions are never failed by capture", registry=reg)
        self.startup = Gauge("loopml_startup_seconds", "Process start to ready (model loaded, warmed up)",
                             registry=reg)
        self.loaded_models = Gauge("loopml_loaded_models", "Models held in memory", registry=reg)

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
