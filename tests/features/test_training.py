from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopml.errors import NotFoundError, ValidationError
from loopml.features import FeatureGroup, get_training_set, ingest, register_feature_group
from tests.features.conftest import customer_group, customer_rows

T0 = pd.Timestamp("2024-05-01", tz="UTC")
_names = (f"g{i}" for i in itertools.count())


def brute_force(entities: pd.DataFrame, history: list[tuple[pd.DataFrame, datetime]], feature: str, *,
                ttl: timedelta | None, as_of: datetime | None) -> list[float]:
    """The definition of point-in-time correctness, one entity row at a time."""
    rows = pd.concat([df.assign(_w=w) for df, w in history if as_of is None or w <= as_of])
    out = []
    for key, ets in zip(entities.customer_id, entities.ts, strict=True):
        cand = rows[(rows.customer_id == key) & (rows.ts <= ets)]
        if cand.empty:
            out.append(np.nan)
            continue
        best = cand.sort_values(["ts", "_w"]).iloc[-1]
        out.append(np.nan if ttl is not None and ets - best.ts > ttl else best[feature])
    return out


batches = st.lists(
    st.lists(st.tuples(st.integers(1, 4), st.integers(0, 40), st.integers(0, 3)), min_size=1, max_size=25),
    min_size=1, max_size=3,
)
entity_rows = st.lists(st.tuples(st.integers(1, 5), st.integers(0, 48)), min_size=1, max_size=30)


def _frame(rows: list[tuple[int, int, int]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["customer_id", "hour", "value"]).drop_duplicates(["customer_id", "hour"])
    return pd.DataFrame({
        "customer_id": df.customer_id.astype("int64"), "ts": T0 + pd.to_timedelta(df.hour, unit="h"),
        "spend": df.value.astype(float) / 4, "orders": df.value.astype("int64"), "segment": "s" + df.value.astype(str),
    })


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=batches, entity=entity_rows, ttl_hours=st.sampled_from([None, 6]),
       as_of_index=st.sampled_from([None, 0, 1]))
def test_point_in_time_join_matches_brute_force(home, batches, entity, ttl_hours, as_of_index) -> None:
    ttl = None if ttl_hours is None else timedelta(hours=ttl_hours)
    fg = customer_group(next(_names), ttl=ttl)
    register_feature_group(fg)
    history = []
    for rows in batches:
        df = _frame(rows)
        result = ingest(fg.name, df, online=False)
        history.append((df, result.written_at or history[-1][1]))
    as_of = None if as_of_index is None or as_of_index >= len(history) else history[as_of_index][1]
    entities = pd.DataFrame(entity, columns=["customer_id", "hour"])
    entities["ts"] = T0 + pd.to_timedelta(entities.hour, unit="h")
    got = get_training_set(entities, [f"{fg.name}:spend", f"{fg.name}:orders"], as_of=as_of)
    assert got[["customer_id", "hour", "ts"]].equals(entities)  # every row, in input order
    expected = brute_force(entities, history, "spend", ttl=ttl, as_of=as_of)
    np.testing.assert_array_equal(got.spend.to_numpy(dtype=float), np.array(expected, dtype=float))
    np.testing.assert_array_equal(got.orders.astype("Float64").to_numpy(dtype=float, na_value=np.nan),
                                  np.array(expected, dtype=float) * 4)


def test_duplicate_entity_rows_all_come_back_in_order(group) -> None:
    ingest("customer", customer_rows(3, 4))
    ts = pd.to_datetime(["2024-05-03", "2024-05-01 12:00", "2024-05-03", "2024-04-01", "2024-05-03"], utc=True, format="ISO8601")
    entities = pd.DataFrame({"customer_id": [2, 1, 2, 1, 2], "ts": ts, "label": [1, 0, 1, 1, 0]},
                            index=[10, 11, 12, 13, 14])
    got = get_training_set(entities, ["customer:spend", "customer:segment"])
    assert list(got.index) == [10, 11, 12, 13, 14] and got.label.tolist() == [1, 0, 1, 1, 0]
    rows = customer_rows(3, 4)
    spend = rows.set_index(["customer_id", "ts"]).spend
    assert got.spend.tolist()[:3] == [spend[(2, ts[0])], spend[(1, T0)], spend[(2, ts[0])]]
    assert np.isnan(got.spend.iloc[3])  # before any data


def test_several_groups_and_full_names(home) -> None:
    register_feature_group(customer_group("a"))
    register_feature_group(customer_group("b"))
    ingest("a", customer_rows(2, 2, seed=1))
    ingest("b", customer_rows(2, 2, seed=2))
    entities = pd.DataFrame({"customer_id": [1, 2], "ts": pd.to_datetime(["2024-05-02", "2024-05-01"], utc=True)})
    with pytest.raises(ValidationError, match=r"output columns \['spend'\] would clash"):
        get_training_set(entities, ["a:spend", "b:spend"])
    got = get_training_set(entities, ["a:spend", "b:spend", "b:orders"], full_names=True)
    assert list(got.columns) == ["customer_id", "ts", "a__spend", "b__spend", "b__orders"]
    assert got.a__spend.tolist() == [customer_rows(2, 2, seed=1).spend[1], customer_rows(2, 2, seed=1).spend[2]]


def test_group_without_data_gives_nulls(group) -> None:
    entities = pd.DataFrame({"customer_id": [1], "ts": [T0]})
    got = get_training_set(entities, ["customer:spend", "customer:orders"])
    assert got.spend.isna().all() and got.orders.isna().all()


def test_string_keys(home) -> None:
    fg = FeatureGroup("user", {"user_id": "string"}, "ts", {"score": "float64"})
    register_feature_group(fg)
    ingest("user", pd.DataFrame({"user_id": ["ü\"x", "b"], "ts": [T0, T0], "score": [1.0, 2.0]}))
    got = get_training_set(pd.DataFrame({"user_id": ["b", "ü\"x"], "ts": [T0, T0]}), ["user:score"])
    assert got.score.tolist() == [2.0, 1.0]


@pytest.mark.parametrize(("features", "entities", "error", "match"), [
    (["spend"], None, ValidationError, "must look like 'group:feature'"),
    (["customer:nope"], None, ValidationError, r"has no features \['nope'\]"),
    (["other:spend"], None, NotFoundError, "'other' is not registered"),
    (["customer:spend"], pd.DataFrame({"customer_id": [1], "when": [T0]}), ValidationError, "no event time column"),
    (["customer:spend"], pd.DataFrame({"ts": [T0]}), ValidationError, "lacks entity key 'customer_id'"),
    (["customer:spend"], pd.DataFrame({"customer_id": [1], "ts": [T0.tz_localize(None)]}), ValidationError,
     "must hold timezone-aware timestamps"),
])
def test_bad_requests_are_explained(group, features, entities, error, match) -> None:
    entities = pd.DataFrame({"customer_id": [1], "ts": [T0]}) if entities is None else entities
    with pytest.raises(error, match=match):
        get_training_set(entities, features)


def test_a_feature_added_in_a_new_version_reads_as_null_for_older_data(group) -> None:
    from loopml.features import get_online_features, materialize

    ingest("customer", customer_rows(2, 2))
    wider = FeatureGroup("customer", ["customer_id"], "ts",
                         {"spend": "float64", "orders": "int64", "segment": "string", "visits": "int32"})
    assert register_feature_group(wider).version == 2
    later = customer_rows(2, 1).assign(ts=T0 + pd.Timedelta(days=5), visits=pd.array([3, 4], dtype="int32"))
    assert ingest("customer", pd.concat([customer_rows(2, 2).assign(visits=pd.array([1] * 4, dtype="int32")),
                                         later])).rows_written == 6  # every row now carries a new value
    entities = pd.DataFrame({"customer_id": [1, 2], "ts": [T0, T0 + pd.Timedelta(days=6)]})
    got = get_training_set(entities, ["customer:visits", "customer:spend"])
    assert got.visits.tolist() == [1, 4]
    first = ingest("customer", customer_rows(3, 1).tail(1).assign(visits=pd.array([7], dtype="int32")))
    got = get_training_set(entities, ["customer:visits"], as_of=first.written_at)
    assert got.visits.tolist() == [1, 4]
    materialize("customer", T0, T0 + pd.Timedelta(days=9))
    assert get_online_features("customer", 3, ["visits"]) == {"customer_id": 3, "visits": 7}


def test_only_version_one_data_and_a_version_two_feature(group) -> None:
    ingest("customer", customer_rows(2, 2))
    register_feature_group(FeatureGroup("customer", ["customer_id"], "ts",
                                        {"spend": "float64", "orders": "int64", "segment": "string",
                                         "visits": "int32"}))
    got = get_training_set(pd.DataFrame({"customer_id": [1], "ts": [T0]}), ["customer:visits", "customer:spend"])
    assert got.visits.isna().all() and got.spend.notna().all()


def test_empty_entity_frame_gives_an_empty_training_set(group) -> None:
    ingest("customer", customer_rows(2, 2))
    got = get_training_set(pd.DataFrame({"customer_id": pd.Series([], dtype="int64"),
                                         "ts": pd.Series([], dtype="datetime64[ns, UTC]")}), ["customer:spend"])
    assert list(got.columns) == ["customer_id", "ts", "spend"] and got.empty
