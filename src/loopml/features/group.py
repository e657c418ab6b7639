"""Feature group definitions: what a group holds, checked once when it is built, hashed for versioning."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from loopml.core import names
from loopml.errors import ValidationError

FEATURE_TYPES = ("float64", "float32", "int64", "int32", "bool", "string", "datetime")
"""The value types a feature may declare."""

KEY_TYPES = ("int64", "string")
"""The types an entity key may declare."""

_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
RESERVED = frozenset({"_write_ts", "_ingest_id", "_row"})


def _check_name(kind: str, name: object) -> None:
    rule = f"1-63 lowercase ASCII letters, digits and '_', starting with a letter, not one of {sorted(RESERVED)}"
    names.check(kind, name, narrower=_NAME, rule=rule, example="customer_stats")
    if name in RESERVED:
        raise ValidationError(f"{kind} name {name!r} is not allowed: use {rule}", value=name)


def _normalize_keys(entity_keys: list[str] | dict[str, str]) -> dict[str, str]:
    keys = dict(entity_keys) if isinstance(entity_keys, dict) else dict.fromkeys(entity_keys, "int64")
    if not keys:
        raise ValidationError("a feature group needs at least one entity key, e.g. entity_keys=['customer_id']")
    for name, kind in keys.items():
        _check_name("entity key", name)
        if kind not in KEY_TYPES:
            raise ValidationError(
                f"entity key {name!r} has type {kind!r}; allowed types are {list(KEY_TYPES)}",
                column=name, value=kind,
            )
    return keys


@dataclass(frozen=True)
class FeatureGroup:
    """A named set of features about one kind of entity, observed at event times.

    Args:
        name: the group's name (lowercase letters, digits, ``_``).
        entity_keys: the key columns; a list (each ``int64``) or a mapping of name to ``int64``/``string``.
        event_time: the column holding when each value was observed (timezone-aware).
        features: feature name to type, one of :data:`FEATURE_TYPES`.
        ttl: how long a value stays valid after its event time; ``None`` keeps it forever.
        description: what the group is for.
        owner: who answers for it.

    Example:
        >>> from datetime import timedelta
        >>> fg = FeatureGroup("customer", entity_keys=["customer_id"], event_time="ts",
        ...                   features={"spend_7d": "float64", "orders_7d": "int64"}, ttl=timedelta(days=30))
        >>> fg.feature_names
        ['spend_7d', 'orders_7d']
    """

    name: str
    entity_keys: dict[str, str]
    event_time: str
    features: dict[str, str]
    ttl: timedelta | None = None
    description: str = ""
    owner: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    def __init__(
        self,
        name: str,
        entity_keys: list[str] | dict[str, str],
        event_time: str = "ts",
        features: dict[str, str] | None = None,
        ttl: timedelta | None = None,
        *,
        description: str = "",
        owner: str = "",
        tags: dict[str, str] | None = None,
    ) -> None:
        _check_name("feature group", name)
        keys = _normalize_keys(entity_keys)
        _check_name("event time column", event_time)
        feats = dict(features or {})
        _check_features(feats, keys, event_time)
        if ttl is not None and (not isinstance(ttl, timedelta) or ttl <= timedelta(0)):
            raise ValidationError(f"ttl must be a positive timedelta or None, got {ttl!r}", value=ttl)
        for attr, value in (("name", name), ("entity_keys", keys), ("event_time", event_time),
                            ("features", feats), ("ttl", ttl), ("description", description),
                            ("owner", owner), ("tags", dict(tags or {}))):
            object.__setattr__(self, attr, value)

    def __hash__(self) -> int:
        return hash(self.definition_hash)

    @property
    def feature_names(self) -> list[str]:
        """The feature names, in declaration order."""
        return list(self.features)

    @property
    def has_datetime(self) -> bool:
        """Whether any feature holds timestamps (online values then need converting back)."""
        return "datetime" in self.features.values()

    @property
    def key_names(self) -> list[str]:
        """The entity key column names, in declaration order."""
        return list(self.entity_keys)

    def to_dict(self) -> dict[str, Any]:
        """The definition as JSON-safe data (what the metadata store keeps)."""
        return {
            "name": self.name, "entity_keys": self.entity_keys, "event_time": self.event_time,
            "features": self.features,
            "ttl_seconds": None if self.ttl is None else self.ttl.total_seconds(),
            "description": self.description, "owner": self.owner, "tags": self.tags,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureGroup:
        """Rebuild a definition from :meth:`to_dict` output."""
        ttl = data.get("ttl_seconds")
        return cls(
            data["name"], data["entity_keys"], data["event_time"], data["features"],
            None if ttl is None else timedelta(seconds=ttl),
            description=data.get("description", ""), owner=data.get("owner", ""), tags=data.get("tags"),
        )

    @property
    def definition_hash(self) -> str:
        """sha256 of the canonical definition; a new hash makes a new version when registered."""
        body = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()


def _check_features(features: dict[str, str], keys: dict[str, str], event_time: str) -> None:
    if not features:
        raise ValidationError("a feature group needs at least one feature, e.g. features={'spend_7d': 'float64'}")
    for name, kind in features.items():
        _check_name("feature", name)
        if kind not in FEATURE_TYPES:
            raise ValidationError(
                f"feature {name!r} has type {kind!r}; allowed types are {list(FEATURE_TYPES)}",
                column=name, value=kind,
            )
    names = [*keys, event_time, *features]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise ValidationError(
            f"column names {clashes} are used twice; entity keys, the event time column and features "
            "must all have different names",
            columns=clashes,
        )


@dataclass(frozen=True)
class FeatureGroupInfo:
    """A registered feature group: its definition plus version, hash and who registered it when."""

    group: FeatureGroup
    version: int
    definition_hash: str
    created_at: datetime
    created_by: str

    @property
    def name(self) -> str:
        return self.group.name

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.group.to_dict(), "version": self.version, "definition_hash": self.definition_hash,
            "created_at": self.created_at.isoformat(), "created_by": self.created_by,
        }
