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
import orjson

from loopml.errors import LoopmlError
from loopml.serve import _decode, _outputs
from loopml.serve._http import guarded, header, new_error_id, read_body, send, send_error, send_json
from loopml.serve._model import ServedModel
from loopml.serve._openapi import openapi
from loopml.serve._signature import fast_array, fast_frame, signature_to_dict, validate_frame
from loopml.serve._spool import CaptureSpool, capture_record
from loopml.serve.errors import MethodNotAllowed, ModelFailed, NoRoute, Overloaded, UnknownTarget
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
    inline_cpu_ms: float = 2.0
    inline_wall_ms: float = 20.0


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
        self._pool: ThreadPoolExecutor | None = None
        self._pooled = 0  # requests handed to the worker threads and not yet back
        self._recent: tuple[float, float] | None = None  # CPU and wall seconds of a small request (averages)
        self._small = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send_fn: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send_fn)
            return
        if scope["type"] != "http":
            return
        await guarded(self._route, scope, receive, send_fn, log=log, where="replica")

    async def _route(self, scope: dict[str, Any], receive: Any, send_fn: Any) -> None:
        method, path = scope["method"], scope["path"].rstrip("/") or "/"
        if method == "POST" and path == "/invocations":
            await self._predict(scope, receive, send_fn, target=header(scope, b"x-target-model"))
        elif method == "POST" and path.startswith("/v2/models/") and path.endswith("/infer"):
            await self._predict(scope, receive, send_fn, target=path[11:-6].split("/versions/")[0], v2=True)
        elif method == "POST" and path.startswith("/models/") and path.endswith("/invoke"):
            await self._predict(scope, receive, send_fn, target=path[8:-7])
        elif method in ("GET", "HEAD"):
            await self._get(path, send_fn)
        elif _known(path):
            await send_error(send_fn, MethodNotAllowed(f"{method} is not allowed on {path}; see /openapi.json"))
        else:
            await send_error(send_fn, no_route(method, path))

    async def _lifespan(self, receive: Any, send_fn: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send_fn({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._pool is not None:
                    self._pool.shutdown(wait=True)
                    self._pool = None
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
            await send_error(send_fn, no_route("GET", path))

    async def _v2_metadata(self, rest: str, send_fn: Any) -> None:
        name, _, tail = rest.partition("/")
        try:
            model = self.source.get(name)
        except LoopmlError as exc:
            await send_error(send_fn, exc)
            return
        if tail.startswith("versions/"):  # /v2/models/{name}/versions/{version}[/ready]
            version, _, tail = tail[9:].partition("/")
            if version != model.version:
                await send_error(send_fn, UnknownTarget(f"model {model.name!r} has no version {version[:40]!r} here; "
                                                        f"it serves version {model.version}"))
                return
        if tail == "ready":
            await send_json(send_fn, 200, {"name": model.name, "ready": True})
            return
        if tail:
            await send_error(send_fn, no_route("GET", f"/v2/models/{rest}"))
            return
        inputs = [{"name": c["name"], "datatype": _V2_OF[c["type"]], "shape": [-1]}
                  for c in signature_to_dict(model.columns)["inputs"]]
        await send_json(send_fn, 200, {"name": model.name, "versions": [model.version], "platform": model.flavor,
                                       "inputs": inputs, "outputs": _outputs.metadata_outputs(model)})

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
        try:
            body = await read_body(scope, receive, limit=self.config.max_body)
            content_type = header(scope, b"content-type") or "application/json"
            accept = header(scope, b"accept")
            attributes = header(scope, b"x-amzn-sagemaker-custom-attributes")
            inference_id = header(scope, b"x-amzn-sagemaker-inference-id")
            proba = not v2 and _outputs.wants_probabilities(attributes, accept)
            model, out_type, out, model_seconds = await self._run(target, body, content_type, accept, v2, proba,
                                                                  (attributes, inference_id))
        except LoopmlError as exc:
            await self._fail(send_fn, exc, model_name=target)
            return
        event_id = str(uuid.uuid4())
        headers = [(b"x-model-digest", model.digest.encode()), (b"x-event-id", event_id.encode()),
                   (b"x-model-name", model.name.encode())]
        self.metrics.invocations.labels(model.name).inc()
        self.metrics.model_latency.labels(model.name).observe(model_seconds)
        if self.capture is not None and self.capture.sampled():
            self.capture.offer(capture_record(
                event_id, request=body, request_type=content_type, response=out, response_type=out_type,
                at=datetime.now(UTC), inference_id=inference_id, custom_attributes=attributes))
        await send(send_fn, 200, out, content_type=out_type, headers=headers)
        self.metrics.overhead_latency.observe(max(0.0, time.perf_counter() - started - model_seconds))

    async def _run(self, target: str | None, body: bytes, content_type: str, accept: str | None,
                   v2: bool, proba: bool = False, meta: tuple[str | None, str | None] = (None, None)
                   ) -> tuple[ServedModel, str, bytes, float]:
        """Find (or lazily load) the model, decode, validate, predict and encode in a worker thread: the
        event loop only moves bytes, so health checks stay fast whatever a request holds.

        A small request runs on the event loop instead when no request is in the worker threads and the
        single model's small requests have been taking, on average, under ``inline_cpu_ms`` of CPU and
        ``inline_wall_ms`` of wall time (decode to encode): the hop to a thread and back (two wake-ups)
        costs more than such a prediction, and a health check waits at most that long behind it. CPU
        time is what a busy machine does not stretch; the wall-time bound keeps a model that waits (on
        I/O, a lock, a sleep) in the threads. A large body, a slow model or a busy pool take the threads."""
        if (self._pooled == 0 and len(body) <= _INLINE_BODY and self._recent is not None
                and self._recent[0] < self.config.inline_cpu_ms / 1000
                and self._recent[1] < self.config.inline_wall_ms / 1000 and isinstance(self.source, SingleModel)):
            return self._remember(len(body), *self._timed_handle(target, body, content_type, accept, v2, proba,
                                                                 meta))
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.config.max_concurrency)
        async with self._slots:
            loop = asyncio.get_running_loop()
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.config.max_concurrency, thread_name_prefix="predict")
            self._pooled += 1
            try:
                answer, cpu, wall = await loop.run_in_executor(self._pool, self._timed_handle, target, body,
                                                               content_type, accept, v2, proba, meta)
            finally:
                self._pooled -= 1
            return self._remember(len(body), answer, cpu, wall)

    def _timed_handle(self, *args: Any) -> tuple[tuple[ServedModel, str, bytes, float], float, float]:
        """The answer, the CPU seconds this thread spent on it and the wall seconds it took."""
        cpu, wall = time.thread_time(), time.perf_counter()
        answer = self._handle(*args)
        return answer, time.thread_time() - cpu, time.perf_counter() - wall

    def _remember(self, size: int, answer: tuple[ServedModel, str, bytes, float], cpu: float, wall: float
                  ) -> tuple[ServedModel, str, bytes, float]:
        """Keep moving averages of the CPU and wall time a small request takes with this model."""
        if size <= _INLINE_BODY and "invoke" not in answer[0].extra:
            self._small += 1
            if self._small > 1:  # the first request pays one-off costs (caches, lazy imports)
                last = self._recent or (cpu, wall)
                self._recent = (0.8 * last[0] + 0.2 * cpu, 0.8 * last[1] + 0.2 * wall)
        return answer

    def _handle(self, target: str | None, body: bytes, content_type: str, accept: str | None,
                v2: bool, proba: bool = False, meta: tuple[str | None, str | None] = (None, None)
                ) -> tuple[ServedModel, str, bytes, float]:
        """``meta``: the request's CustomAttributes and InferenceId, for a script's context argument."""
        model = self.source.get(target)
        if "invoke" in model.extra and not v2:  # a SageMaker script-mode model decodes its own requests
            return (model, *_timed_invoke(model, body, content_type, accept, meta))
        if v2:
            return self._infer_v2(model, body)
        frame = self._frame(body, content_type, model, v2=v2, block=not proba)
        predictions, model_seconds = _timed_predict(model, frame)
        if proba:
            probs, more = _timed_predict(model, frame, _outputs.probabilities)
            out_type, out = _encode_with_probabilities(predictions, probs, accept, model)
            return model, out_type, out, model_seconds + more
        out_type, out = _encode(predictions, accept, model=model, v2=v2)
        return model, out_type, out, model_seconds

    def _infer_v2(self, model: ServedModel, body: bytes) -> tuple[ServedModel, str, bytes, float]:
        """An OIP v2 infer: the outputs asked for (predictions by default), the request ``id`` echoed."""
        doc = _decode.parse_json(body)
        names = _outputs.requested(doc)
        frame = validate_frame(_decode.decode_v2(doc, model.columns, max_rows=self.config.max_rows), model.columns,
                               max_rows=self.config.max_rows)
        tensors, seconds = [], 0.0
        for name in names:
            fn = _outputs.probabilities if name == _outputs.PROBABILITIES else None
            values, took = _timed_predict(model, frame, fn)
            seconds += took
            tensors.append(_outputs.v2_tensor(name, np.asarray(values)))
            if name == _outputs.PREDICTIONS:
                model.extra["datatype"] = tensors[-1]["datatype"]
        answer: dict[str, Any] = {"model_name": model.name, "model_version": model.version, "outputs": tensors}
        if isinstance(doc.get("id"), str):
            answer = {"id": doc["id"], **answer}
        return model, "application/json", _dumps(answer), seconds

    def _frame(self, body: bytes, content_type: str, model: ServedModel, *, v2: bool, block: bool = False) -> Any:
        """The request as a frame checked against the signature (a fast path for small numeric JSON; with
        ``block``, the float block itself for a model that takes it)."""
        if v2:
            frame = _decode.decode_v2(_decode.parse_json(body), model.columns, max_rows=self.config.max_rows)
        elif _decode.media_type(content_type) in _decode.JSON_TYPES:
            doc = _decode.parse_json(body)
            if block and model.predict_array is not None:
                rows = fast_array(doc, model.columns)
                if rows is not None and len(rows) <= self.config.max_rows:
                    return rows
            fast = fast_frame(doc, model.columns)
            if fast is not None and len(fast) <= self.config.max_rows:
                return fast
            frame = _decode.frame_from_json(doc, model.columns)
        else:
            frame = _decode.decode(body, content_type, model.columns)
        return validate_frame(frame, model.columns, max_rows=self.config.max_rows)

    async def _fail(self, send_fn: Any, exc: LoopmlError, *, model_name: str | None) -> None:
        error_id = new_error_id()
        if exc.http_status >= 500:
            log.warning("error %s (%s) on model %s: %s", error_id, exc.code, model_name, exc.message)
        self.metrics.errors.labels(str(exc.http_status)).inc()
        await send_error(send_fn, exc, error_id=error_id)


def _timed_invoke(model: ServedModel, body: bytes, content_type: str, accept: str | None,
                  meta: tuple[str | None, str | None]) -> tuple[str, bytes, float]:
    start = time.perf_counter()
    try:
        out, out_type = model.extra["invoke"](body, content_type, accept, custom_attributes=meta[0],
                                              inference_id=meta[1])
    except LoopmlError:
        raise
    except Exception as exc:  # noqa: BLE001 - any handler failure becomes a 500 with an error id
        log.exception("inference script of %s raised", model.name)
        raise ModelFailed(f"the inference script of {model.name!r} raised {type(exc).__name__}: {str(exc)[:200]}; "
                          "check the replica log") from exc
    return out_type, out, time.perf_counter() - start


_INLINE_BODY = 16 * 1024
_V2_OF = {"double": "FP64", "long": "INT64", "boolean": "BOOL", "string": "BYTES", "category": "BYTES"}
_ROUTES = ("/ping", "/invocations", "/metrics", "/healthz", "/readyz", "/openapi.json", "/v2")


def _known(path: str) -> bool:
    return path in _ROUTES or path.startswith(("/v2/", "/models/"))


def no_route(method: str, path: str) -> NoRoute:
    """The 404 for a path no route answers (the path is shown bounded and escaped)."""
    return NoRoute(f"no route {method} {path[:200]!r}; see /openapi.json")


def _timed_predict(model: ServedModel, frame: Any, fn: Any = None) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    try:
        if isinstance(frame, np.ndarray):  # the checked float block, for a model that takes it
            result = np.asarray(model.predict_array(frame))  # type: ignore[misc]
        else:
            result = model(frame) if fn is None else fn(model, frame)
    except LoopmlError:
        raise
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


def _encode_with_probabilities(predictions: np.ndarray, probs: np.ndarray, accept: str | None,
                               model: ServedModel) -> tuple[str, bytes]:
    """Predictions and class probabilities: JSON ``{"predictions", "probabilities", "classes"}``, or CSV rows of
    probabilities (one column per class, in ``classes`` order)."""
    if accept and _decode.media_type(accept) in _decode.CSV_TYPES:
        return "text/csv", _decode.encode_csv(_decode.to_jsonable(probs))
    classes = model.extra.get("classes")
    return "application/json", _dumps({"predictions": _decode.to_jsonable(predictions),
                                       "probabilities": _decode.to_jsonable(probs),
                                       "classes": _decode.to_jsonable(classes) if classes is not None else None})


def _flat(values: list[Any]) -> list[Any]:
    return [x for row in values for x in row] if values and isinstance(values[0], list) else values


def _dumps(doc: Any) -> bytes:
    """Compact JSON (``to_jsonable`` has already turned NaN and infinities into null)."""
    return orjson.dumps(doc)
