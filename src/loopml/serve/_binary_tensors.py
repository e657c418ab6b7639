"""The binary tensor data extension of the Open Inference Protocol (HTTP), which tritonclient uses by default.

A request with ``Inference-Header-Content-Length: N`` is N bytes of JSON followed by the raw tensors of the
inputs whose ``parameters.binary_data_size`` is set, in input order (little-endian, row-major; ``BOOL`` one
byte; ``BYTES`` each element as a 4-byte little-endian length and its bytes). An answer sends an output in
binary when the request asked (``outputs[i].parameters.binary_data`` or ``parameters.binary_data_output``):
the output gets ``parameters.binary_data_size`` instead of ``data`` and the answer the same header.

The endpoint turns binary requests into plain JSON tensors before they reach a replica (so the replica,
the capture record and the monitors see one form) and binary answers back out of JSON.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np

from loopml.serve.errors import MalformedRequest

_DTYPES = {"BOOL": "?", "UINT8": "<u1", "UINT16": "<u2", "UINT32": "<u4", "UINT64": "<u8", "INT8": "<i1",
           "INT16": "<i2", "INT32": "<i4", "INT64": "<i8", "FP16": "<f2", "FP32": "<f4", "FP64": "<f8"}
HEADER = b"inference-header-content-length"


def _bytes_elements(raw: bytes, pointer: str) -> list[str]:
    items, at = [], 0
    while at < len(raw):
        if at + 4 > len(raw):
            raise MalformedRequest("a BYTES tensor ends inside an element's length", pointer=pointer)
        (size,) = struct.unpack_from("<I", raw, at)
        at += 4
        if at + size > len(raw):
            raise MalformedRequest("a BYTES element is longer than the data sent", pointer=pointer)
        items.append(raw[at:at + size].decode("utf-8", "replace"))
        at += size
    return items


def _values(raw: bytes, datatype: str, pointer: str) -> list[Any]:
    if datatype == "BYTES":
        return _bytes_elements(raw, pointer)
    dtype = _DTYPES.get(datatype)
    if dtype is None:
        raise MalformedRequest(f"binary datatype {datatype!r} is not one of {sorted(_DTYPES) + ['BYTES']}",
                               pointer=pointer)
    if len(raw) % np.dtype(dtype).itemsize:
        raise MalformedRequest(f"binary data of {len(raw)} bytes is not a whole number of {datatype} values",
                               pointer=pointer)
    values: list[Any] = np.frombuffer(raw, dtype=dtype).tolist()
    return values


def to_json(body: bytes, header_length: str) -> tuple[dict[str, Any], bytes]:
    """A binary-extension request as a plain JSON request (its inputs' ``data`` filled in), and its JSON bytes."""
    if not header_length.isdigit() or int(header_length) > len(body):
        raise MalformedRequest(f"Inference-Header-Content-Length {header_length[:20]!r} is not a length within the "
                               f"body of {len(body)} bytes")
    size = int(header_length)
    try:
        doc = json.loads(body[:size])
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedRequest(f"the inference header is not JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("inputs"), list):
        raise MalformedRequest('the inference header needs "inputs"', pointer="/inputs")
    at = size
    for i, tensor in enumerate(doc["inputs"]):
        params = tensor.get("parameters") if isinstance(tensor, dict) else None
        if not isinstance(params, dict) or params.get("binary_data_size") is None:
            continue
        length = params["binary_data_size"]
        if type(length) is not int or length < 0 or at + length > len(body):
            raise MalformedRequest(f"input {i} states binary_data_size {length!r}, past the end of the body",
                                   pointer=f"/inputs/{i}/parameters/binary_data_size")
        tensor["data"] = _values(body[at:at + length], str(tensor.get("datatype")), f"/inputs/{i}")
        del params["binary_data_size"]
        at += length
    if at != len(body):
        raise MalformedRequest(f"the body holds {len(body) - at} bytes after the last binary input")
    return doc, json.dumps(doc, separators=(",", ":")).encode()


def wanted(doc: dict[str, Any]) -> set[str] | bool:
    """Which outputs the request wants in binary: True for all of them, else the set of names."""
    params = doc.get("parameters")
    if isinstance(params, dict) and params.get("binary_data_output") is True:
        return True
    return {o["name"] for o in doc.get("outputs") or [] if isinstance(o, dict)
            and isinstance(o.get("parameters"), dict) and o["parameters"].get("binary_data") is True}


def _raw(tensor: dict[str, Any]) -> bytes:
    if tensor["datatype"] == "BYTES":
        parts = [str(x).encode() for x in tensor["data"]]
        return b"".join(struct.pack("<I", len(p)) + p for p in parts)
    values = [np.nan if x is None else x for x in tensor["data"]]
    return np.asarray(values, dtype=_DTYPES[tensor["datatype"]]).tobytes()


def from_json(answer: dict[str, Any], binary: set[str] | bool) -> tuple[bytes, int | None]:
    """The answer with the wanted outputs moved to binary; returns (body, JSON header length or None)."""
    blobs = []
    for tensor in answer.get("outputs", []):
        if binary is True or tensor.get("name") in binary:  # type: ignore[operator]
            raw = _raw(tensor)
            del tensor["data"]
            tensor["parameters"] = {**tensor.get("parameters", {}), "binary_data_size": len(raw)}
            blobs.append(raw)
    head = json.dumps(answer, separators=(",", ":")).encode()
    if not blobs:
        return head, None
    return head + b"".join(blobs), len(head)
