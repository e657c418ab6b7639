"""Loading the latest offline values into the online store, and reading them back at serving time."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from loopml.core import audit, clock, context, faults
from loopml.errors import ValidationError
from loopml.features import offline
from loopml.features._tables import feature_watermarks
from loopml.features._validate import DUCK_TYPES
from loopml.features.group import FeatureGroup
from loopml.features.ingest import resolve
from loopml.features.online import (
    OnlineRow,
    OnlineStore,
    dump_key,
    key_values,
    loads_values,
    online_rows_sql,
    open_online_store,
)
from loopml.features.registry import cached_feature_group

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class MaterializeResult:
    """What a materialization did. ``clamped`` is true when the requested end lay in the future."""

    group: str
    store: str
    start: datetime
    end: datetime
    clamped: bool
    entities: int
    rows_changed: int
    watermark: datetime

    def to_dict(self) -> dict[str, Any]:
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in self.__dict__.items()}


def _aware(name: str, value: datetime) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValidationError(f"{name}={value!r} must be a timezone-aware datetime, e.g. "
                              "datetime(2024, 5, 1, tzinfo=timezone.utc)", value=str(value))
    return clock.as_utc(value)


def get_watermark(group: str, store: OnlineStore | None = None) -> datetime | None:
    """The end of the last successful materialization of ``group`` into ``store`` (``None`` if never)."""
    store = store or open_online_store()
    wm = feature_watermarks.c
    with context.get_db().read() as conn:
        value = conn.execute(sa.select(wm.watermark).where(
            wm.group_name == group, wm.store == store.url)).scalar_one_or_none()
    return None if value is None else clock.as_utc(value)


def _window(group: str, store: OnlineStore, start: datetime | None, end: datetime | None) -> tuple[
        datetime, datetime, bool]:
    now = clock.now()
    end = now if end is None else _aware("end", end)
    clamped = end > now
    end = min(end, now)
    start = (get_watermark(group, store) or EPOCH) if start is None else _aware("start", start)
    if start > end:
        raise ValidationError(f"start {start.isoformat()} is after end {end.isoformat()}"
                              + (" (end was clamped to now)" if clamped else "") + "; pass start <= end",
                              start=start.isoformat(), end=end.isoformat())
    return start, end, clamped


def _latest_sql(fg: FeatureGroup, start: datetime, end: datetime) -> str | None:
    found = offline.manifests(fg.name)
    files = offline.files_of(found, first=start.date(), last=end.date())
    if not files:
        return None
    columns = [*fg.key_names, fg.event_time, *fg.feature_names]
    absent = offline.absent_features(fg.name, found, fg.feature_names)
    nulls = {f: DUCK_TYPES[fg.features[f]] for f in absent}
    keys = ", ".join(f'"{k}"' for k in fg.key_names)
    ts = f'"{fg.event_time}"'
    return (f"SELECT * FROM ({offline.scan_sql(files, columns, dedupe=None, union=True, nulls=nulls)}) "
            f"WHERE {ts} >= '{start.isoformat()}'::TIMESTAMPTZ AND {ts} <= '{end.isoformat()}'::TIMESTAMPTZ "
            f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY {ts} DESC, {offline.WRITE_TS} DESC) = 1")


def materialize(group: str | FeatureGroup, start: datetime | None = None, end: datetime | None = None, *,
                store: OnlineStore | None = None, batch_size: int = 10_000) -> MaterializeResult:
    """Load the latest value per entity with event time in ``[start, end]`` into the online store.

    Older event times never overwrite newer ones already online, so windows may run in any order and
    re-running a window is harmless. The watermark (kept per group and store in the metadata DB) moves
    to ``end`` only after every row is written and durable, and never backwards; a crash leaves it as it
    was (Feast #3787). An ``end`` in the future is clamped to now, so the watermark never passes now.

    Args:
        group: the feature group name (or its registered definition).
        start: window start (default: the current watermark, else the beginning of time).
        end: window end (default: now); timezone-aware.
        store: the online store (default: ``LOOPML_ONLINE``).
        batch_size: rows per write transaction.

    Raises:
        ValidationError: naive datetimes, or ``start`` after ``end``.
    """
    fg = resolve(group).group
    store = store or open_online_store()
    start, end, clamped = _window(fg.name, store, start, end)
    entities = changed = 0
    relation = _latest_sql(fg, start, end)
    if relation is not None:
        cursor = offline.connect().execute(online_rows_sql(fg, relation))
        while rows := cursor.fetchmany(batch_size):
            changed += store.write_batch(fg.name, [OnlineRow(*r) for r in rows])
            entities += len(rows)
            faults.point("materialize_batch_written")
    watermark = _advance(fg.name, store, end, details={"start": start.isoformat(), "entities": entities})
    return MaterializeResult(fg.name, store.url, start, end, clamped, entities, changed, watermark)


def _advance(group: str, store: OnlineStore, end: datetime, *, details: dict[str, Any]) -> datetime:
    wm = feature_watermarks.c
    faults.point("materialize_before_watermark")
    with context.get_db().write() as conn:
        current = conn.execute(sa.select(wm.watermark).where(
            wm.group_name == group, wm.store == store.url)).scalar_one_or_none()
        now = clock.now()
        if current is None:
            conn.execute(feature_watermarks.insert().values(group_name=group, store=store.url, watermark=end,
                                                            updated_at=now))
        elif clock.as_utc(current) < end:
            conn.execute(feature_watermarks.update().where(wm.group_name == group, wm.store == store.url)
                         .values(watermark=end, updated_at=now))
        mark = end if current is None else max(clock.as_utc(current), end)
        audit.append(conn, actor=context.current_user(), action="feature_group.materialize",
                     resource=f"feature_group:{group}", details={**details, "end": end.isoformat(),
                                                                  "store": store.url, "watermark": mark.isoformat()})
    return mark


class _Decoder:
    """Turns stored records into result dicts; work that is the same for every entity is done once."""

    def __init__(self, fg: FeatureGroup, names: list[str]) -> None:
        self.fg, self.names, self.key_names = fg, names, fg.key_names
        self.plain = names == fg.feature_names and not fg.has_datetime  # every feature, nothing to convert
        self.min_us = -math.inf if fg.ttl is None else time.time_ns() / 1000 - fg.ttl.total_seconds() * 1e6

    def __call__(self, keys: list[Any], record: Any) -> dict[str, Any]:
        out = dict(zip(self.key_names, keys, strict=True))
        if record is None or record.event_us < self.min_us:
            out.update(dict.fromkeys(self.names))
            return out
        values = loads_values(record.values)
        if self.plain and len(values) == len(self.names):
            out.update(values)
            return out
        for name in self.names:
            value = values.get(name)
            out[name] = pd.Timestamp(value) if value is not None and self.fg.features[name] == "datetime" else value
        return out


def get_online_features(group: str | FeatureGroup, entity_ids: Any, features: list[str] | None = None, *,
                        store: OnlineStore | None = None) -> dict[str, Any] | list[dict[str, Any]]:
    """The latest online values for one entity or a list of entities.

    Args:
        group: the feature group name, or its definition (skips the metadata lookup).
        entity_ids: one entity (a key value, a tuple of key values, or a mapping of key name to value), or a
            list of them.
        features: which features (default: all of the group's).
        store: the online store (default: ``LOOPML_ONLINE``).

    Returns:
        For one entity, a dict of its keys and the features; for a list, one such dict per entity in the
        same order. Unknown entities, and values older than the group's TTL, come back as ``None``.

    Raises:
        ValidationError: unknown features or entity ids that do not fit the group's keys.
    """
    fg = group if isinstance(group, FeatureGroup) else cached_feature_group(group).group
    names = list(features or fg.feature_names)
    unknown = [n for n in names if n not in fg.features]
    if unknown:
        raise ValidationError(f"feature group {fg.name!r} has no features {unknown}; it has {fg.feature_names}")
    store = store or open_online_store()
    decode = _Decoder(fg, names)
    if not isinstance(entity_ids, list):
        keys = key_values(fg, entity_ids)
        return decode(keys, store.read(fg.name, dump_key(keys)))
    all_keys = [key_values(fg, e) for e in entity_ids]
    records = store.read_batch(fg.name, [dump_key(k) for k in all_keys])
    return [decode(k, r) for k, r in zip(all_keys, records, strict=True)]
