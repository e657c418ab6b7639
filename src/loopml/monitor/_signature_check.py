"""Checks at schedule creation: the endpoint exists and the baseline matches its model's signature."""

from __future__ import annotations

import json
from typing import Any

from loopml.core import context
from loopml.errors import NotFoundError, ValidationError


def endpoint_columns(endpoint: str) -> tuple[Any, ...]:
    """The signature (``loopml.serve.Column`` tuple) of the model the endpoint serves; empty without one."""
    from loopml import registry, serve

    variants = [v for v in serve.get(endpoint).variants if not v.get("shadow")]
    if not variants:
        return ()
    version = registry.resolve(str(variants[0]["model"]))
    columns: tuple[Any, ...] = serve.parse_signature(version.signature or {})
    return columns


def endpoint_inputs(endpoint: str) -> list[str]:
    """Input column names of the model the endpoint serves (empty when it has no signature)."""
    return [c.name for c in endpoint_columns(endpoint)]


def check_baseline(config: dict[str, Any], *, check_signature: bool) -> None:
    """Raise ``ValidationError`` when the baseline's features differ from the endpoint model's inputs."""
    store = context.get_artifacts()
    for key in ("statistics", "constraints"):
        if not store.exists(config[key]):
            raise NotFoundError(f"baseline {key} {config[key]!r} is not in the artifact store; create it with "
                                "'loopml monitor baseline model:GROUP:VERSION'", digest=config[key])
    features = [f["name"] for f in json.loads(store.get_bytes(config["statistics"]))["features"]]
    if not check_signature:
        return
    inputs = endpoint_inputs(config["endpoint"])
    if not inputs:
        return
    missing, extra = sorted(set(inputs) - set(features)), sorted(set(features) - set(inputs))
    if missing or extra:
        raise ValidationError(
            f"the baseline does not match endpoint {config['endpoint']!r}'s model signature: the model takes "
            f"{inputs}; the baseline lacks {missing} and has extra {extra}. Re-run 'loopml monitor baseline "
            "model:GROUP:VERSION' (the model's training data) or exclude the extra columns.",
            missing=missing, extra=extra)
