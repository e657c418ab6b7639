"""An endpoint's configuration as frozen, typed models, documented field by field.

:func:`loopml.serve.create` builds an :class:`EndpointConfig` and stores :meth:`EndpointConfig.to_record`
(the JSON document endpoints have always stored: ``config["scaling"]["min"]`` and so on), so records
written before this model existed read back through :meth:`EndpointConfig.from_record` unchanged. Ranges
are declared once, on :func:`loopml.serve.create` (``CREATE_CONSTRAINTS``); these models give the shape.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class Variant(_Frozen):
    """One model version behind the endpoint."""

    name: str = Field(description="The variant's name, ``<group>-v<version>``.")
    model: str = Field(description="The version it serves, ``GROUP:VERSION``.")
    group: str = Field(description="The model group.")
    version: int = Field(description="The version number.")
    digest: str = Field(description="The ``sha256:`` digest of the model folder that was approved.")
    weight: float = Field(default=100.0, description="Share of traffic, in percent (0 for shadows and extra targets).")
    shadow: bool = Field(default=False, description="Receives a copy of the traffic; its answers are captured, not returned.")


class Scaling(_Frozen):
    """How many replicas run (realtime)."""

    min: int = Field(default=1, description="Fewest replicas kept running.")
    max: int = Field(default=1, description="Most replicas the autoscaler starts (async: workers).")
    target_in_flight: float = Field(default=4.0, description="In-flight requests per replica the autoscaler aims at.")


class ServerLimits(_Frozen):
    """What one replica accepts."""

    max_concurrency: int = Field(default=4, description="Predictions a replica runs at once.")
    max_queue: int = Field(default=16, description="Requests that may wait beyond those; past it, 429.")
    max_body: int = Field(default=6 * 2**20, description="The largest request body, in bytes.")


class Serverless(_Frozen):
    """Scale-to-zero settings (serverless and async)."""

    idle_seconds: float = Field(default=60.0, description="Replicas stop after this long without traffic.")
    max_concurrency: int = Field(default=10, description="Serverless: requests served at once; more get 429.")


class AsyncOptions(_Frozen):
    """Queued (async) endpoints."""

    max_attempts: int = Field(default=3, description="Tries per request before it is Failed.")
    webhook: str | None = Field(default=None, description="Public http(s) URL notified of each success or failure.")


class Capture(_Frozen):
    """Data capture."""

    percent: float = Field(default=0.0, description="Share of requests written to data capture, 0-100.")


class EndpointConfig(_Frozen):
    """Everything an endpoint was created with (its ``config`` record)."""

    variants: tuple[Variant, ...] = Field(default=(), description="The production variants (and a shadow, if any).")
    targets: tuple[Variant, ...] = Field(default=(), description="Extra models of a multi-model endpoint.")
    memory_budget: int = Field(default=512 * 2**20, description="Bytes of models a multi-model endpoint keeps loaded.")
    port: int = Field(default=0, description="The port the endpoint listens on (0: any free port).")
    scaling: Scaling = Field(default_factory=Scaling, description="Replica counts and the scaling rule.")
    server: ServerLimits = Field(default_factory=ServerLimits, description="Per-replica limits.")
    serverless: Serverless = Field(default_factory=Serverless, description="Scale-to-zero settings.")
    async_: AsyncOptions = Field(default_factory=AsyncOptions, alias="async", description="Async settings.")
    capture: Capture = Field(default_factory=Capture, description="Data capture.")
    feature_group: str | None = Field(default=None, description="The feature group whose online features are joined.")
    placement: str | None = Field(default=None, description="``local`` (processes here) or ``cluster`` (Ray actors).")
    replica_resources: dict[str, Any] | None = Field(default=None, description="What each replica asks of its node.")

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> EndpointConfig:
        """The typed view of a stored ``config`` document (missing sections take their defaults)."""
        return cls.model_validate(record)

    def to_record(self) -> dict[str, Any]:
        """The JSON document stored in the endpoint's ``config`` column."""
        record = self.model_dump(by_alias=True, mode="json")
        record["variants"], record["targets"] = list(record["variants"]), list(record["targets"])
        return record
