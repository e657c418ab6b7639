"""Run parameters: defaults from the pipeline signature, overrides checked by name and type."""

from __future__ import annotations

import inspect
import json
import typing
from typing import Any

from loopml.errors import ValidationError

_SIMPLE = {int: "int", float: "float", bool: "bool", str: "str", list: "list", dict: "dict"}


def _expected(annotation: Any) -> type | None:
    if annotation is inspect.Parameter.empty:
        return None
    origin = typing.get_origin(annotation) or annotation
    return origin if origin in _SIMPLE else None


def _coerce(name: str, value: Any, kind: type | None) -> Any:
    if kind is None:
        return value
    if isinstance(value, str) and kind is not str:
        value = _parse_text(name, value, kind)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValidationError(
            f"parameter {name!r} expects {_SIMPLE[kind]}, got {type(value).__name__} {value!r}",
            parameter=name,
        )
    return value


def _parse_text(name: str, text: str, kind: type) -> Any:
    try:
        if kind is bool:
            lowered = text.strip().lower()
            if lowered in ("true", "1", "yes"):
                return True
            if lowered in ("false", "0", "no"):
                return False
            raise ValueError(text)
        if kind in (list, dict):
            return json.loads(text)
        return kind(text)
    except (ValueError, json.JSONDecodeError) as exc:
        raise ValidationError(
            f"parameter {name!r} expects {_SIMPLE[kind]}, got {text!r}", parameter=name
        ) from exc


def resolve(signature: inspect.Signature, given: dict[str, Any], *, pipeline: str) -> dict[str, Any]:
    """Merge ``given`` over the defaults; unknown names and wrong types raise, listing what is valid."""
    params = signature.parameters
    unknown = sorted(set(given) - set(params))
    if unknown:
        valid = ", ".join(f"{n}: {_describe(p)}" for n, p in params.items()) or "none"
        raise ValidationError(
            f"pipeline {pipeline!r} has no parameter {', '.join(map(repr, unknown))}; valid parameters: {valid}",
            parameters=unknown,
        )
    resolved = {}
    for name, param in params.items():
        if name in given:
            resolved[name] = _coerce(name, given[name], _expected(param.annotation))
        elif param.default is not inspect.Parameter.empty:
            resolved[name] = param.default
        else:
            raise ValidationError(f"pipeline {pipeline!r} needs parameter {name!r} ({_describe(param)}); pass -p {name}=…")
    return resolved


def _describe(param: inspect.Parameter) -> str:
    kind = _expected(param.annotation)
    text = _SIMPLE.get(kind, "any") if kind else "any"
    if param.default is not inspect.Parameter.empty:
        text += f" = {param.default!r}"
    return text
