"""EventBridge-style patterns: which events a rule matches.

Patterns follow Amazon EventBridge: a dict whose keys name event fields (``source``, ``detail-type``,
``resources``, ``detail``); a list value matches when the event's value is one of its items, a nested dict
matches nested fields, and ``{"prefix": "..."}``, ``{"anything-but": [...]}``, ``{"numeric": [">", 3]}``
and ``{"exists": true}`` work as they do there. Events themselves are recorded on the bus
(:mod:`loopml.core.bus`).
"""

from __future__ import annotations

import operator
from typing import Any

from loopml.core.bus import Event
from loopml.errors import ValidationError

_NUMERIC = {"<": operator.lt, "<=": operator.le, "=": operator.eq, ">=": operator.ge, ">": operator.gt}


def matches(pattern: dict[str, Any], event: Event | dict[str, Any]) -> bool:
    """Whether an EventBridge-style ``pattern`` matches ``event``.

    Example:
        >>> matches({"detail-type": ["Alarm State Change"], "detail": {"state": ["ALARM"]}},
        ...         {"detail-type": "Alarm State Change", "detail": {"state": "ALARM"}})
        True
    """
    doc = event.to_dict() if isinstance(event, Event) else event
    return _match_dict(pattern, doc)


def check_pattern(pattern: Any) -> dict[str, Any]:
    """Validate a pattern's shape; returns it. Raises ``ValidationError`` naming the bad part."""
    if not isinstance(pattern, dict) or not pattern:
        raise ValidationError(
            f"an event pattern must be a non-empty JSON object, got {pattern!r}; e.g. "
            '{"detail-type": ["Alarm State Change"], "detail": {"state": ["ALARM"]}}')
    for key, value in pattern.items():
        if isinstance(value, dict):
            check_pattern(value)
        elif not isinstance(value, list) or not value:
            raise ValidationError(
                f"pattern field {key!r} is {value!r}; each field needs a non-empty list of allowed values "
                "or a nested object", field=key)
    return pattern


def _match_dict(pattern: dict[str, Any], doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    return all(_match_field(spec, doc.get(key), key in doc) for key, spec in pattern.items())


def _match_field(spec: Any, value: Any, present: bool) -> bool:
    if isinstance(spec, dict):
        return _match_dict(spec, value)
    values = value if isinstance(value, list) else [value]
    return any(_match_one(item, v, present) for item in spec for v in values)


def _match_one(item: Any, value: Any, present: bool) -> bool:
    if not isinstance(item, dict):
        return present and item == value
    if "exists" in item:
        return bool(item["exists"]) == present
    if not present:
        return False
    if "prefix" in item:
        return isinstance(value, str) and value.startswith(str(item["prefix"]))
    if "anything-but" in item:
        banned = item["anything-but"]
        return value not in (banned if isinstance(banned, list) else [banned])
    if "numeric" in item:
        return _numeric(item["numeric"], value)
    return False


def _numeric(conditions: list[Any], value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    pairs = zip(conditions[::2], conditions[1::2], strict=False)
    return all(op in _NUMERIC and _NUMERIC[op](value, bound) for op, bound in pairs)
