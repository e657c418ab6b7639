"""The online store: the latest feature values per entity, for low-latency reads at serving time.

Back ends sit behind the small :class:`OnlineStore` protocol and are rows of one lazy table,
:data:`ONLINE_STORES`, chosen by URL scheme (``sqlite:///path`` by default, ``redis://host:port/db?prefix=...``,
or ``memory://`` for tests); every back end passes :mod:`loopml.testing.online_store_contract`. Rows are stored as opaque strings:
an entity key (canonical JSON of the key values), the event time and write time in microseconds, and the
feature values as a JSON object. Encoding and decoding happen here, once, for every back end.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

from loopml.errors import ValidationError
from loopml.features.group import FeatureGroup

try:  # orjson parses stored values ~10x faster; it refuses NaN, which DuckDB writes for NaN floats
    import orjson

    def loads_values(text: str) -> dict[str, Any]:
        """Parse a stored values object (JSON, possibly with NaN/Infinity)."""
        try:
            return orjson.loads(text)  # type: ignore[no-any-return]
        except orjson.JSONDecodeError:
            return json.loads(text)  # type: ignore[no-any-return]
except ImportError:  # pragma: no cover - orjson is optional
    def loads_values(text: str) -> dict[str, Any]:
        """Parse a stored values object (JSON, possibly with NaN/Infinity)."""
        values: dict[str, Any] = json.loads(text)
        return values


class OnlineRecord(NamedTuple):
    """One stored row: event and write time (µs since the epoch, UTC) and the values as a JSON object."""

    event_us: int
    write_us: int
    values: str


class OnlineRow(NamedTuple):
    """A row to write: the encoded entity key plus its :class:`OnlineRecord` fields."""

    key: str
    event_us: int
    write_us: int
    values: str


@runtime_checkable
class OnlineStore(Protocol):
    """Latest feature values per (group, entity key).

    Contract every back end keeps:

    * ``write_batch`` upserts each row **only if it is newer** than the stored one: a larger ``event_us``,
      or the same ``event_us`` and a larger-or-equal ``write_us``. Older rows never overwrite newer ones,
      so writes are idempotent and may arrive in any order. When it returns, the rows are durable to the
      extent the back end allows (SQLite: committed with ``synchronous=FULL``; Redis: acknowledged).
    * ``read`` / ``read_batch`` return ``None`` for keys never written; ``read_batch`` keeps input order.
    * ``scan`` yields every stored row of a group (order unspecified): for dumps, checks and tests.
    * ``url`` names the store without credentials (watermarks are kept per store).
    """

    url: str

    def write_batch(self, group: str, rows: Sequence[OnlineRow]) -> int:
        """Upsert ``rows`` where newer; return how many rows changed."""
        ...

    def read(self, group: str, key: str) -> OnlineRecord | None:
        """The stored row for one encoded entity key."""
        ...

    def read_batch(self, group: str, keys: Sequence[str]) -> list[OnlineRecord | None]:
        """The stored rows for many encoded keys, in the order given."""
        ...

    def scan(self, group: str) -> Iterator[tuple[str, OnlineRecord]]:
        """Every stored ``(key, record)`` of ``group``."""
        ...

    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...


def key_values(group: FeatureGroup, entity: Any) -> list[Any]:
    """The key values of one entity: a scalar (one key), a tuple in key order, or a mapping.

    Raises:
        ValidationError: the value does not fit the group's entity keys.
    """
    names = group.key_names
    if type(entity) is int and len(names) == 1 and group.entity_keys[names[0]] == "int64":
        return [entity]  # the common case, checked cheaply
    if isinstance(entity, dict):
        missing = [n for n in names if n not in entity]
        if missing:
            raise ValidationError(f"entity {entity!r} lacks keys {missing}; group {group.name!r} is keyed by {names}")
        values = [entity[n] for n in names]
    elif isinstance(entity, tuple):
        values = list(entity)
    else:
        values = [entity]
    if len(values) != len(names):
        raise ValidationError(f"entity {entity!r} has {len(values)} key values; group {group.name!r} needs {names}")
    return [_key_value(group, n, v) for n, v in zip(names, values, strict=True)]


def encode_key(group: FeatureGroup, entity: Any) -> str:
    """Canonical key text for one entity (see :func:`key_values`): JSON of the key values, ``[42]``."""
    return dump_key(key_values(group, entity))


def dump_key(values: list[Any]) -> str:
    """Key text for already-checked key values."""
    if len(values) == 1 and type(values[0]) is int:
        return f"[{values[0]}]"
    return json.dumps(values, separators=(",", ":"), ensure_ascii=False)


def _key_value(group: FeatureGroup, name: str, value: Any) -> Any:
    kind = group.entity_keys[name]
    if kind == "int64" and not isinstance(value, bool) and hasattr(value, "__index__"):
        return int(value)
    if kind == "string" and isinstance(value, str):
        return value
    raise ValidationError(f"entity key {name!r} of group {group.name!r} is {kind}, got {value!r}", column=name)


def key_sql(group: FeatureGroup) -> str:
    """DuckDB SQL building the same key text as :func:`encode_key` from the key columns."""
    return "json_array(" + ", ".join(f'"{k}"' for k in group.key_names) + ")::VARCHAR"


def values_sql(group: FeatureGroup) -> str:
    """DuckDB SQL building the JSON object of a row's feature values."""
    return "to_json(struct_pack(" + ", ".join(f'"{f}" := "{f}"' for f in group.feature_names) + "))::VARCHAR"


def online_rows_sql(group: FeatureGroup, relation: str) -> str:
    """SQL turning ``relation`` (keys, event time, features, ``_write_ts``) into online rows, by key.

    Rows come sorted by key text: B-tree stores insert sorted keys about 3x faster.
    """
    return (f"SELECT {key_sql(group)} AS key, epoch_us(\"{group.event_time}\") AS event_us, "
            f"epoch_us(_write_ts) AS write_us, {values_sql(group)} AS vals FROM ({relation}) ORDER BY key")


ONLINE_STORES: dict[str, str] = {
    "sqlite": "loopml.features._sqlite_online:SQLiteOnlineStore",
    "redis": "loopml.features._redis_online:RedisOnlineStore",
    "rediss": "loopml.features._redis_online:RedisOnlineStore",
    "unix": "loopml.features._redis_online:RedisOnlineStore",
    "memory": "loopml.features._memory_online:InMemoryOnlineStore",
}
"""Online-store back ends by URL scheme: module paths as data, imported only when chosen. Each class
opens itself from a URL (``from_url``) and passes :mod:`loopml.testing.online_store_contract`."""


_open: dict[tuple[int, str], OnlineStore] = {}


def open_online_store(url: str | None = None) -> OnlineStore:
    """The online store at ``url`` (default: the ``LOOPML_ONLINE`` setting), opened once per process.

    Args:
        url: ``sqlite:///path/online.db`` or ``redis://host:6379/0?prefix=myapp:``.

    Raises:
        ValidationError: an unsupported scheme.
    """
    from loopml.core import context

    url = url or context.get_settings().online_url
    cache_key = (os.getpid(), url)
    if cache_key not in _open:
        _open[cache_key] = _make(url)
    return _open[cache_key]


def _make(url: str) -> OnlineStore:
    scheme = url.split(":", 1)[0].lower()
    if scheme not in ONLINE_STORES:
        raise ValidationError(
            f"online store URL {url.split('@')[-1]!r} has unsupported scheme {scheme!r}; use sqlite:///path, "
            "redis://host:port/db or memory:// (set LOOPML_ONLINE)", value=scheme,
        )
    module, _, cls = ONLINE_STORES[scheme].partition(":")
    return getattr(importlib.import_module(module), cls).from_url(url)  # type: ignore[no-any-return]


def close_online_stores() -> None:
    """Close every store this process opened (tests and shutdown)."""
    for store in _open.values():
        store.close()
    _open.clear()


def parse_entity(group: FeatureGroup, text: str) -> tuple[Any, ...]:
    """An entity id typed on a command line (``42`` or ``42,eu`` for several keys) as key values.

    Raises:
        ValidationError: wrong number of parts, or a non-integer for an int64 key.
    """
    parts = text.split(",") if len(group.entity_keys) > 1 else [text]
    if len(parts) != len(group.entity_keys):
        raise ValidationError(f"entity id {text!r} needs {len(group.entity_keys)} comma-separated values "
                              f"for keys {group.key_names}")
    values: list[int | str] = []
    for (name, kind), part in zip(group.entity_keys.items(), parts, strict=True):
        if kind == "int64":
            try:
                values.append(int(part))
            except ValueError:
                raise ValidationError(f"entity key {name!r} is int64, got {part!r}", column=name) from None
        else:
            values.append(part)
    return tuple(values)
