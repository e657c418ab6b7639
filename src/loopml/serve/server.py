"""The model server: one ASGI app speaking the SageMaker container contract and Open Inference Protocol v2.

Routes: ``GET /ping``, ``POST /invocations`` (JSON or CSV), ``GET /v2/health/live``, ``GET /v2/health/ready``,
``GET /v2/models/{name}``, ``POST /v2/models/{name}/infer``, ``POST /models/{name}/invoke`` (multi-model),
``GET /metrics`` (Prometheus), ``GET /healthz``, ``GET /openapi.json``.

Every request is decoded and checked against the model signature before the model is called; every
error is JSON with an ``error_id``; the replica keeps serving after any of them. Concurrency is bounded:
past ``max_concurrency`` running plus ``max_queue`` waiting requests the server answers 503 with
``Retry-After`` at once instead of queueing without limit.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np

from loopml.errors import LoopmlError
from loopml.serve import _decode
from loopml.serve._http import header, read_body, send, send_json
from loopml.serve._model import ServedModel
from loopml.serve._openapi import openapi
from loopml.serve._signature import fast_frame, signature_to_dict, validate_frame
from loopml.serve._spool import CaptureSpool, capture_record
from loopml.serve.errors import ModelFailed, Overloaded, UnknownTarget
from loopml.serve.metrics import CONTENT_TYPE, ServerMetrics

log = logging.getLogger("loopml.serve")


class ModelSource(Protocol):
    """Where the server gets the model for a request: one model, or a multi-model cache."""

    def get(self, name: str | None) -> ServedModel:
        """The model for target ``name`` (None: the default); raises :class:`UnknownTarget`."""

    def names(self) -> list[str]:
        """The targets this server can serve."""


class SingleModel:
    """A source holding exactly one model; a target name, if given, must be its name."""

    def __init__(self, model: ServedModel) -> None:
        self.model = model

    def get(self, name: str | None) -> ServedModel:
        if name in (None, "", self.model.name):
            return self.model
        raise UnknownTarget(f"target model {name!r} is not served here; this endpoint serves {self.model.name!r}")

    def names(self) -> list[str]:
        return [self.model.name]


@dataclass(frozen=True)
class ServerConfig:
    """Limits and behaviour of one server process."""

    max_body: int = 6 * 1024 * 1024
    max_rows: int = 10_000
    max_concurrency: int = 4
    max_queue: int = 16
    retry_after: int = 1
    output: str = "predict"


def _error_doc(exc: LoopmlError, error_id: str) -> dict[str, Any]:
    doc = {**exc.to_dict(), "error_id": error_id}
    for key in ("pointer", "violations"):
        if key in exc.fields:
            doc[key] = exc.fields[key]
    return doc


class ModelServer:
    """The ASGI application of a replica."""

    def __init__(self, source: ModelSource | ServedModel, *, config: ServerConfig | None = None,
                 capture: CaptureSpool | None = None, metrics: ServerMetrics | None = None) -> None:
        self.source = SingleModel(source) if isinstance(source, ServedModel) else source
        self.config = config or ServerConfig()
        self.metrics = metrics or ServerMetrics()
        self.capture = capture
        self.ready = True
        self.in_flight = 0
        self._slots: asyncio.Semaphore | None = None
        self._pool = ThreadPoolExecutor(self.config.max_concurrency, thread_name_prefix="predict")

    async def __call__(self, scope: dict[str, Any], receive: Any, send_fn: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send_fn)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"].rstrip("/") or "/"
        if method == "POST" and path == "/invocations":
            await self._predict(scope, receive, send_fn, target=header(scope, b"x-target-model"))
        elif method == "POST" and path.startswith("/v2/models/") and path.endswith("/infer"):
            await self._predict(scope, receive, send_fn, target=path[11:-6].split("/versions/")[0], v2=True)
        elif method == "POST" and path.startswith("/models/") and path.endswith("/invoke"):
            await self._predict(scope, receive, send_fn, target=path[8:-7])
        elif method in ("GET", "HEAD"):
            await self._get(path, send_fn)
        else:
            await send_json(send_fn, 405 if _known(path) else 404,
                            {"error": "not_found", "message": f"no route {method} {path}; see /openapi.json"})

    async def _lifespan(self, receive: Any, send_fn: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send_fn({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._pool.shutdown(wait=True)
                if self.capture is not None:
                    self.capture.close()
                await send_fn({"type": "lifespan.shutdown.complete"})
                return

    async def _get(self, path: str, send_fn: Any) -> None:
        if path in ("/ping", "/healthz", "/v2/health/live", "/v2/health/ready", "/readyz"):
            live = path in ("/healthz", "/v2/health/live")
            ok = live or self.ready
            await send_json(send_fn, 200 if ok else 503, {"status": "ok" if ok else "loading"})
        elif path == "/metrics":
            await send(send_fn, 200, self.metrics.render(), content_type=CONTENT_TYPE)
        elif path == "/openapi.json":
            await send_json(send_fn, 200, openapi(self.source.names()))
        elif path == "/v2":
            await send_json(send_fn, 200, {"name": "loopml", "version": "2", "extensions": []})
        elif path.startswith("/v2/models/"):
            await self._v2_metadata(path[11:], send_fn)
        else:
            await send_json(send_fn, 404, {"error": "not_found", "message": f"no route GET {path}; see /openapi.json"})

    async def _v2_metadata(self, rest: str, send_fn: Any) -> None:
        name, _, tail = rest.partition("/")
        try:
            model = self.source.get(name)
        except LoopmlError as exc:
            await send_json(send_fn, exc.http_status, _error_doc(exc, _new_error_id()))
            return
        if tail == "ready":
            await send_json(send_fn, 200, {"name": model.name, "ready": True})
            return
        inputs = [{"name": c["name"], "datatype": _V2_OF[c["type"]], "shape": [-1]}
                  for c in signature_to_dict(model.columns)["inputs"]]
        await send_json(send_fn, 200, {"name": model.name, "versions": [model.version], "platform": model.flavor,
                                       "inputs": inputs, "outputs": [{"name": "predictions", "datatype": "FP64",
                                                                      "shape": [-1]}]})

    async def _predict(self, scope: dict[str, Any], receive: Any, send_fn: Any, *, target: str | None,
                       v2: bool = False) -> None:
        started = time.perf_counter()
        if self.in_flight >= self.config.max_concurrency + self.config.max_queue:
            self.metrics.rejected.inc()
            await self._fail(send_fn, Overloaded(
                f"the replica is saturated ({self.in_flight} requests in flight, limit "
                f"{self.config.max_concurrency} running + {self.config.max_queue} waiting); retry after "
                f"{self.config.retry_after} s", retry_after=self.config.retry_after), model_name=target)
            return
        self.in_flight += 1
        self.metrics.in_flight.inc()
        try:
            await self._serve(scope, receive, send_fn, target=target, v2=v2, started=started)
        finally:
            self.in_flight -= 1
            self.metrics.in_flight.dec()

    async def _serve(self, scope: dict[str, Any], receive: Any, send_fn: Any, *, target: str | None, v2: bool,
                     started: float) -> None:
        model: ServedModel | None = None
        try:
            body = await read_body(scope, receive, limit=self.config.max_body)
            model = self.source.get(target)
            content_type = header(scope, b"content-type") or "application/json"
            frame = self._frame(body, content_type, model, v2=v2)
            predictions, model_seconds = await self._call_model(model, frame)
            self.metrics.model_latency.labels(model.name).observe(model_seconds)
            out_type, out = _encode(predictions, header(scope, b"accept"), model=model, v2=v2)
        except LoopmlError as exc:
            await self._fail(send_fn, exc, model_name=model.name if model else target)
            return
        event_id = header(scope, b"x-amzn-sagemaker-inference-id") or uuid.uuid4().hex
        headers = [(b"x-model-digest", model.digest.encode()), (b"x-event-id", event_id.encode()),
                   (b"x-model-name", model.name.encode())]
        self.metrics.invocations.labels(model.name).inc()
        if self.capture is not None and self.capture.sampled():
            self.capture.offer(capture_record(event_id, request=body, request_type=content_type, response=out,
                                              response_type=out_type, at=datetime.now(UTC)))
        await send(send_fn, 200, out, content_type=out_type, headers=headers)
        self.metrics.overhead_latency.observe(max(0.0, time.perf_counter() - started - model_seconds))

    def _frame(self, body: bytes, content_type: str, model: ServedModel, *, v2: bool) -> Any:
        """The request as a frame checked against the signature (a fast path for small numeric JSON)."""
        if v2:
            frame = _decode.decode_v2(_decode.parse_json(body), model.columns)
        elif _decode.media_type(content_type) in _decode.JSON_TYPES:
            doc = _decode.parse_json(body)
            fast = fast_frame(doc, model.columns)
            if fast is not None and len(fast) <= self.config.max_rows:
                return fast
            frame = _decode.frame_from_json(doc, model.columns)
        else:
            frame = _decode.decode(body, content_type, model.columns)
        return validate_frame(frame, model.columns, max_rows=self.config.max_rows)

    async def _call_model(self, model: ServedModel, frame: Any) -> tuple[np.ndarray, float]:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.config.max_concurrency)
        async with self._slots:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, _timed_predict, model, frame)

    async def _fail(self, send_fn: Any, exc: LoopmlError, *, model_name: str | None) -> None:
        error_id = _new_error_id()
        status = exc.http_status
        if status >= 500:
            log.warning("error %s (%s) on model %s: %s", error_id, exc.code, model_name, exc.message)
        self.metrics.errors.labels(str(status)).inc()
        headers = [(b"x-error-id", error_id.encode())]
        if status in (429, 503):
            headers.append((b"retry-after", str(getattr(exc, "retry_after", 1)).encode()))
        await send_json(send_fn, status, _error_doc(exc, error_id), headers=headers)


_V2_OF = {"double": "FP64", "long": "INT64", "boolean": "BOOL", "string": "BYTES", "category": "BYTES"}
_ROUTES = ("/ping", "/invocations", "/metrics", "/healthz", "/readyz", "/openapi.json", "/v2")


def _known(path: str) -> bool:
    return path in _ROUTES or path.startswith(("/v2/", "/models/"))


def _new_error_id() -> str:
    return "err_" + uuid.uuid4().hex[:16]


def _timed_predict(model: ServedModel, frame: Any) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    try:
        result = model(frame)
    except Exception as exc:  # noqa: BLE001 - any model failure becomes a 500 with an error id
        log.exception("model %s raised", model.name)
        raise ModelFailed(f"model {model.name!r} raised {type(exc).__name__} while predicting; the input "
                          "passed validation, so this is a model bug: check the replica log") from exc
    return result, time.perf_counter() - start


def _encode(predictions: np.ndarray, accept: str | None, *, model: ServedModel, v2: bool) -> tuple[str, bytes]:
    values = _decode.to_jsonable(predictions)
    if v2:
        doc = {"model_name": model.name, "model_version": model.version, "outputs": [
            {"name": "predictions", "shape": list(np.shape(predictions)),
             "datatype": _decode.v2_datatype(np.asarray(predictions)), "data": _flat(values)}]}
        return "application/json", _dumps(doc)
    if accept and _decode.media_type(accept) in _decode.CSV_TYPES:
        return "text/csv", _decode.encode_csv(values)
    return "application/json", _dumps({"predictions": values})


def _flat(values: list[Any]) -> list[Any]:
    return [x for row in values for x in row] if values and isinstance(values[0], list) else values


def _dumps(doc: Any) -> bytes:
    import json

    return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()
