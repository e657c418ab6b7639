"""Point-in-time correct training sets: DuckDB ASOF joins of entity rows against the offline store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa

from loopml.core import clock
from loopml.errors import ValidationError
from loopml.features import offline
from loopml.features._validate import DUCK_TYPES, TIMESTAMP
from loopml.features.group import FeatureGroup
from loopml.features.registry import get_feature_group

_SCAN_CHUNK = 122_880
_PANDAS_NULLABLE = {pa.int64(): pd.Int64Dtype(), pa.int32(): pd.Int32Dtype(), pa.bool_(): pd.BooleanDtype()}


@dataclass(frozen=True)
class _Request:
    group: FeatureGroup
    features: list[str]


def _parse(features: list[str]) -> list[_Request]:
    wanted: dict[str, list[str]] = {}
    for ref in features:
        name, sep, feature = ref.partition(":")
        if not sep or not name or not feature:
            raise ValidationError(f"feature reference {ref!r} must look like 'group:feature'", value=ref)
        wanted.setdefault(name, []).append(feature)
    requests = []
    for name, names in wanted.items():
        group = get_feature_group(name).group
        unknown = [f for f in names if f not in group.features]
        if unknown:
            raise ValidationError(f"feature group {name!r} has no features {unknown}; it has {group.feature_names}",
                                  group=name, features=unknown)
        requests.append(_Request(group, list(dict.fromkeys(names))))
    return requests


def _event_column(entity_df: pd.DataFrame, requests: list[_Request], event_time: str | None) -> str:
    candidates = [event_time] if event_time else [*dict.fromkeys(r.group.event_time for r in requests),
                                                  "event_timestamp"]
    for column in candidates:
        if column in entity_df.columns:
            return column
    raise ValidationError(f"entity_df has no event time column; expected one of {candidates} (or pass "
                          "event_time=<column>)", columns=list(entity_df.columns))


def _entity_table(entity_df: pd.DataFrame, requests: list[_Request], ts: str) -> pa.Table:
    problems = []
    series = entity_df[ts]
    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        problems.append(f"column {ts!r} must hold timezone-aware timestamps, got dtype {series.dtype}")
    elif series.isna().any():
        problems.append(f"column {ts!r} has missing timestamps")
    keys: dict[str, str] = {}
    for request in requests:
        keys.update(request.group.entity_keys)
    for key, kind in keys.items():
        if key not in entity_df.columns:
            problems.append(f"entity_df lacks entity key {key!r}")
        elif kind == "int64" and not pd.api.types.is_integer_dtype(entity_df[key].dtype):
            problems.append(f"entity key {key!r} is int64 in the feature group, got dtype {entity_df[key].dtype}")
    if problems:
        raise ValidationError("cannot build the training set: " + "; ".join(problems), problems=problems)
    arrays = [pa.array(entity_df[k], from_pandas=True) for k in keys]
    arrays += [pa.array(series, type=TIMESTAMP), pa.array(np.arange(len(entity_df), dtype=np.int64))]
    table = pa.Table.from_arrays(arrays, names=[*keys, "_ets", "_row"])
    # DuckDB scans an Arrow table one batch per thread: split it so the join's input is read in parallel.
    return pa.Table.from_batches(table.to_batches(max_chunksize=_SCAN_CHUNK), schema=table.schema)


def _group_sql(request: _Request, as_of: datetime | None) -> str:
    fg = request.group
    found = offline.manifests(fg.name, as_of=as_of)
    files = offline.files_of(found)
    columns = [*fg.key_names, fg.event_time, *request.features]
    if not files:
        types = {**dict.fromkeys(fg.key_names, "BIGINT"), fg.event_time: "TIMESTAMPTZ",
                 **{f: DUCK_TYPES[fg.features[f]] for f in request.features}}
        types.update({k: "VARCHAR" for k, t in fg.entity_keys.items() if t == "string"})
        return offline.empty_sql(types)
    dedupe = [*fg.key_names, fg.event_time] if any(m.overlaps for m in found) else None
    absent = offline.absent_features(fg.name, found, request.features)
    return offline.scan_sql(files, columns, dedupe=dedupe, union=len({m.group_version for m in found}) > 1,
                            nulls={f: DUCK_TYPES[fg.features[f]] for f in absent})


def _query(requests: list[_Request], as_of: datetime | None, full_names: bool) -> tuple[str, list[str]]:
    select, joins, names = ["e._row"], [], []
    for i, request in enumerate(requests):
        fg, alias = request.group, f"g{i}"
        on = " AND ".join(f'e."{k}" = {alias}."{k}"' for k in fg.key_names)
        joins.append(f'ASOF LEFT JOIN ({_group_sql(request, as_of)}) {alias} '
                     f'ON {on} AND e._ets >= {alias}."{fg.event_time}"')
        ttl = "" if fg.ttl is None else (f'e._ets - {alias}."{fg.event_time}" <= '
                                         f"INTERVAL '{int(fg.ttl.total_seconds() * 1e6)} microseconds'")
        for feature in request.features:
            name = f"{fg.name}__{feature}" if full_names else feature
            value = f'{alias}."{feature}"'
            select.append(f'CASE WHEN {ttl} THEN {value} END AS "{name}"' if ttl else f'{value} AS "{name}"')
            names.append(name)
    return f"SELECT {', '.join(select)} FROM entities e {' '.join(joins)}", names


def get_training_set(entity_df: pd.DataFrame, features: list[str], *, as_of: datetime | None = None,
                     event_time: str | None = None, full_names: bool = False) -> pd.DataFrame:
    """Join feature values to entity rows as they were known at each row's event time.

    For every entity row and feature group, takes the group's row with the same entity keys and the latest
    event time at or before the entity row's event time; values older than the group's TTL come back null.
    Every entity row comes back once, in input order (duplicates included), with the entity columns first.

    Args:
        entity_df: entity key columns and a timezone-aware event time column (plus anything else, kept).
        features: references ``"group:feature"``.
        as_of: only use data written at or before this time (time travel to an earlier training set).
        event_time: the entity_df column with event times (default: the groups' event time column name,
            else ``event_timestamp``).
        full_names: name output columns ``<group>__<feature>`` instead of ``<feature>``.

    Returns:
        ``entity_df`` with one column per requested feature appended.

    Raises:
        ValidationError: malformed references, unknown groups or features, missing keys, naive timestamps,
            or clashing output column names.

    Example:
        >>> get_training_set(labels, ["customer:spend_7d", "customer:orders_7d"])  # doctest: +SKIP
    """
    if not features:
        raise ValidationError("features is empty; name at least one 'group:feature'")
    requests = _parse(list(features))
    ts = _event_column(entity_df, requests, event_time)
    entities = _entity_table(entity_df, requests, ts)
    sql, names = _query(requests, None if as_of is None else clock.as_utc(as_of), full_names)
    clashes = sorted({n for n in names if names.count(n) > 1} | (set(names) & set(entity_df.columns)))
    if clashes:
        raise ValidationError(f"output columns {clashes} would clash; pass full_names=True to get "
                              "'<group>__<feature>' names", columns=clashes)
    con = offline.connect()
    con.register("entities", entities)
    result = con.execute(sql).fetch_arrow_table()
    return _assemble(entity_df, result, names)


def _assemble(entity_df: pd.DataFrame, result: pa.Table, names: list[str]) -> pd.DataFrame:
    rows = result.column("_row").to_numpy()
    where = np.empty_like(rows)
    where[rows] = np.arange(len(rows))  # output position -> result row (the join does not keep order)
    out = entity_df.copy(deep=False)
    for name in names:
        column = result.column(name)
        if pa.types.is_floating(column.type):
            out[name] = column.to_numpy()[where]
        else:
            taken = column.combine_chunks().take(pa.array(where))
            out[name] = taken.to_pandas(types_mapper=_PANDAS_NULLABLE.get).array
    return out
