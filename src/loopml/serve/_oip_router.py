"""Open Inference Protocol v2 at the endpoint's URL, under the endpoint's own name, and its ``/metrics``.

``/v2/models/<endpoint>/infer`` (and ``.../versions/<n>/infer``, ``/ready``, metadata) names the endpoint,
not the variant serving it, so a KServe- or Triton-style client keeps one path across rollouts: the router
picks a variant (by traffic weight, or the one whose registry version is ``<n>``) and forwards to its
replica under the replica's model name, then answers under the endpoint's name and the version that
served. Binary tensors (tritonclient's default) are turned into JSON tensors on the way in and back into
binary on the way out (:mod:`loopml.serve._binary_tensors`). Paths under another name go to the replicas
as before.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any
from urllib.parse import quote

import numpy as np

from loopml.errors import LoopmlError
from loopml.serve import _binary_tensors, _decode
from loopml.serve._http import header, read_body, send, send_error, send_json
from loopml.serve.errors import TooManyRequests, UnknownTarget

_MODEL_PATH = re.compile(r"^/v2/models/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?(?:/(?P<op>ready|infer))?$")
_PASS = (b"x-model-digest", b"x-event-id", b"x-error-id", b"retry-after")
_FORWARD = (b"x-amzn-sagemaker-inference-id", b"x-amzn-sagemaker-custom-attributes")
SERVER = {"name": "loopml", "version": "2", "extensions": ["binary_tensor_data"]}


async def handle(router: Any, scope: dict[str, Any], receive: Any, send_fn: Any, *, method: str, path: str) -> bool:
    """Answer an OIP route named for this endpoint; False when ``path`` is not one (the caller goes on)."""
    if path == "/v2" and method == "GET":
        await send_json(send_fn, 200, SERVER)
        return True
    match = _MODEL_PATH.match(path)
    if match is None or not router.name or match["name"] != router.name:
        return False
    try:
        variant = _variant(router, match["version"])
        if match["op"] == "infer" and method == "POST":
            await _infer(router, variant, scope, receive, send_fn)
        elif match["op"] == "ready" and method == "GET":
            await send_json(send_fn, 200, {"name": router.name, "ready": True})
        elif match["op"] is None and method == "GET":
            await send_json(send_fn, 200, await _metadata(router, variant, match["version"]))
        else:
            return False
    except LoopmlError as exc:
        await send_error(send_fn, exc)
    return True


def _variant(router: Any, version: str | None) -> Any:
    if version is None:
        return router.choose()
    for variant in router.variants:
        if not variant.shadow and str(variant.info.get("version")) == version:
            return variant
    served = sorted({str(v.info.get("version")) for v in router.variants if not v.shadow})
    raise UnknownTarget(f"endpoint {router.name!r} serves no version {version[:40]!r}; it serves versions {served}")


def _model_name(variant: Any) -> str:
    return str(variant.replicas.spec["models"][0]["name"])


async def _metadata(router: Any, variant: Any, version: str | None) -> dict[str, Any]:
    """The replica's model metadata, named for the endpoint, listing the versions it serves."""
    replica = variant.replicas.pick() or await router.cold_start(variant)
    status, _, out = await replica.upstream.post(f"/v2/models/{quote(_model_name(variant))}", b"", [], method="GET")
    doc: dict[str, Any] = json.loads(out)
    if status != 200:
        raise LoopmlError(f"the replica of variant {variant.name!r} answered {status} for its metadata: "
                          f"{doc.get('message')}")
    versions = [version] if version else sorted({str(v.info.get("version")) for v in router.serving()}, key=_number)
    return {**doc, "name": router.name, "versions": versions}


def _number(text: str) -> Any:
    return (0, int(text)) if text.isdigit() else (1, text)


async def _infer(router: Any, variant: Any, scope: dict[str, Any], receive: Any, send_fn: Any) -> None:
    if router.mode == "serverless" and router.in_flight >= router.serverless_concurrency:
        raise TooManyRequests(f"the endpoint is at its max_concurrency of {router.serverless_concurrency}; retry "
                              "after 1 s")
    router.in_flight += 1
    try:
        body = await read_body({"headers": [h for h in scope["headers"] if h[0] in (b"content-length",
                                                                                   b"content-encoding")]},
                               receive, limit=router.max_body)
        length = header(scope, _binary_tensors.HEADER)
        doc, body = _binary_tensors.to_json(body, length) if length is not None else (_decode.parse_json(body), body)
        binary = _binary_tensors.wanted(doc) if isinstance(doc, dict) else set()
        headers = [(b"content-type", b"application/json")] + [(k, v) for k, v in scope["headers"] if k in _FORWARD]
        variant, status, out_headers, out = await router.call(
            variant, f"/v2/models/{quote(_model_name(variant))}/infer", body, headers)
        for shadow in (v for v in router.variants if v.shadow):
            asyncio.get_running_loop().create_task(
                router._mirror(shadow, f"/v2/models/{quote(_model_name(shadow))}/infer", body, headers))
    finally:
        router.in_flight -= 1
    extra = [(k, v) for k, v in out_headers if k in _PASS] + [(b"x-variant", variant.name.encode())]
    if status != 200:
        await send(send_fn, status, out, headers=extra)
        return
    answer = json.loads(out)
    answer.update(model_name=router.name, model_version=str(variant.info.get("version")))
    content, head = _binary_tensors.from_json(answer, binary)
    if head is not None:
        extra.append((_binary_tensors.HEADER, str(head).encode()))
    await send(send_fn, 200, content, content_type="application/json" if head is None else "application/octet-stream",
               headers=extra)


def metrics(router: Any) -> bytes:
    """The endpoint's Prometheus text: requests, errors, latency quantiles and replicas per variant."""
    lines = ["# HELP loopml_endpoint_requests_total Requests answered by a replica, per variant.",
             "# TYPE loopml_endpoint_requests_total counter"]
    errors, latency, replicas = [], [], []
    for v in router.variants:
        label = f'variant="{v.name}",model="{v.info.get("model", "")}"'
        lines.append(f"loopml_endpoint_requests_total{{{label}}} {v.stats.requests}")
        errors += [f'loopml_endpoint_errors_total{{{label},class="4xx"}} {v.stats.errors_4xx}',
                   f'loopml_endpoint_errors_total{{{label},class="5xx"}} {v.stats.errors_5xx}']
        if v.stats.latencies:
            values = np.array(v.stats.latencies)
            latency += [f'loopml_endpoint_latency_seconds{{{label},quantile="{q}"}} {np.quantile(values, q):.6f}'
                        for q in (0.5, 0.9, 0.99)]
        replicas.append(f"loopml_endpoint_replicas{{{label}}} {len(v.replicas.live())}")
    lines += ["# HELP loopml_endpoint_errors_total Error answers per variant and class.",
              "# TYPE loopml_endpoint_errors_total counter", *errors,
              "# HELP loopml_endpoint_latency_seconds Latency through the endpoint over the last 2000 requests.",
              "# TYPE loopml_endpoint_latency_seconds summary", *latency,
              "# HELP loopml_endpoint_replicas Replicas running per variant.",
              "# TYPE loopml_endpoint_replicas gauge", *replicas,
              "# HELP loopml_endpoint_in_flight Requests in flight at the endpoint.",
              "# TYPE loopml_endpoint_in_flight gauge", f"loopml_endpoint_in_flight {router.in_flight}"]
    return ("\n".join(lines) + "\n").encode()
