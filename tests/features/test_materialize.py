from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loopml.core import clock
from loopml.errors import ValidationError
from loopml.features import (
    OnlineStore,
    get_online_features,
    get_watermark,
    ingest,
    materialize,
    open_online_store,
    register_feature_group,
)
from tests.features.conftest import customer_group, customer_rows

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 5, 1, tzinfo=UTC)


def dump(store: OnlineStore, group: str = "customer") -> dict[str, tuple[int, dict]]:
    return {key: (rec.event_us, json.loads(rec.values)) for key, rec in store.scan(group)}


def golden(df: pd.DataFrame, start: datetime, end: datetime) -> dict[str, tuple[int, dict]]:
    """Latest row per entity with start <= ts <= end, computed with pandas."""
    window = df[(df.ts >= start) & (df.ts <= end)].sort_values("ts").groupby("customer_id").tail(1)
    return {f"[{r.customer_id}]": (r.ts.value // 1000, {"spend": r.spend, "orders": r.orders, "segment": r.segment})
            for r in window.itertuples()}


def test_materialize_loads_latest_values_and_moves_watermark(group) -> None:
    df = customer_rows(5, 6)
    ingest("customer", df, online=False)
    end = T0 + timedelta(days=2, hours=1)
    result = materialize("customer", T0, end)
    assert (result.entities, result.watermark, result.clamped) == (5, end, False)
    assert dump(open_online_store()) == golden(df, T0, end)
    assert get_watermark("customer") == end
    rest = materialize("customer")  # incremental: from the watermark to now
    assert rest.start == end and rest.watermark <= clock.now()
    assert dump(open_online_store()) == golden(df, T0, clock.now())


def test_out_of_order_windows_never_overwrite_newer_values(group) -> None:
    """RELIABILITY case 10, first half: a later window, then an earlier overlapping one."""
    df = customer_rows(4, 10)
    ingest("customer", df, online=False)
    late_end = T0 + timedelta(days=9)
    materialize("customer", T0 + timedelta(days=5), late_end)
    after_late = dump(open_online_store())
    earlier = materialize("customer", T0, T0 + timedelta(days=6))
    assert earlier.entities == 4 and earlier.rows_changed == 0
    assert dump(open_online_store()) == after_late == golden(df, T0, late_end)
    assert get_watermark("customer") == late_end  # never moves backwards


def test_future_end_is_clamped_so_the_watermark_never_passes_now(group) -> None:
    """RELIABILITY case 10, second half (Feast #4222)."""
    future = customer_rows(2, 1).assign(ts=clock.now() + timedelta(hours=3))
    ingest("customer", pd.concat([customer_rows(2, 3), future]), online=False)
    before = clock.now()
    result = materialize("customer", T0, clock.now() + timedelta(days=1))
    assert result.clamped and before <= result.end <= clock.now()
    assert get_watermark("customer") <= clock.now()
    assert all(event_us <= result.end.timestamp() * 1e6 for event_us, _ in dump(open_online_store()).values())


@pytest.mark.parametrize(("start", "end", "match"), [
    (T0 + timedelta(days=2), T0, "is after end"),
    (datetime(2024, 5, 1), T0, "start=.* must be a timezone-aware datetime"),
    (T0, datetime(2024, 5, 2), "end=.* must be a timezone-aware datetime"),
])
def test_bad_windows_are_refused(group, start, end, match) -> None:
    with pytest.raises(ValidationError, match=match):
        materialize("customer", start, end)
    assert get_watermark("customer") is None


def test_ingest_upserts_online_but_older_rows_do_not_replace_newer(group) -> None:
    df = customer_rows(2, 3)
    ingest("customer", df.tail(2))  # the newest rows first
    ingest("customer", df.head(4))
    assert dump(open_online_store()) == golden(df, T0, clock.now())


def test_online_reads_single_batch_subset_and_ttl(home) -> None:
    register_feature_group(customer_group())
    register_feature_group(customer_group("recent", ttl=timedelta(hours=1)))
    df = customer_rows(3, 2)
    ingest("customer", df)
    ingest("recent", df)
    ingest("recent", customer_rows(1, 1).assign(ts=clock.now() - timedelta(minutes=5), spend=42.0))
    last = df[df.ts == df.ts.max()].set_index("customer_id")
    one = get_online_features("customer", 2)
    assert one == {"customer_id": 2, "spend": last.spend[2], "orders": last.orders[2], "segment": last.segment[2]}
    many = get_online_features("customer", [3, {"customer_id": 1}, 99, (3,)], ["spend"])
    assert many == [{"customer_id": 3, "spend": last.spend[3]}, {"customer_id": 1, "spend": last.spend[1]},
                    {"customer_id": 99, "spend": None}, {"customer_id": 3, "spend": last.spend[3]}]
    assert get_online_features("recent", [1, 2], ["spend"]) == [{"customer_id": 1, "spend": 42.0},
                                                                 {"customer_id": 2, "spend": None}]  # expired
    with pytest.raises(ValidationError, match=r"has no features \['nope'\]"):
        get_online_features("customer", 1, ["nope"])


def test_redis_store_materialize_and_read(group, redis_store) -> None:
    df = customer_rows(50, 3)
    ingest("customer", df, online=False)
    result = materialize("customer", T0, T0 + timedelta(days=10), store=redis_store, batch_size=7)
    assert result.entities == 50 and get_watermark("customer", redis_store) == T0 + timedelta(days=10)
    assert get_watermark("customer") is None  # watermarks are per store
    assert dump(redis_store) == golden(df, T0, T0 + timedelta(days=10))
    got = get_online_features("customer", list(range(1, 51)), store=redis_store)
    assert [g["orders"] for g in got] == df.sort_values("ts").groupby("customer_id").orders.last().tolist()


def _materialize_in_subprocess(env: dict[str, str], start: datetime, end: datetime) -> int:
    code = ("import sys; from datetime import datetime; from loopml.features import materialize; "
            f"materialize('customer', datetime.fromisoformat({start.isoformat()!r}), "
            f"datetime.fromisoformat({end.isoformat()!r}), batch_size=500)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=90)
    return proc.returncode


@pytest.mark.slow
def test_kill_mid_materialize_then_rerun_matches_golden(group) -> None:
    """RELIABILITY case 9: 50k rows, 5k entities, SIGKILL at 40%, re-run the same window."""
    rng = np.random.default_rng(9)
    n = 50_000
    df = pd.DataFrame({
        "customer_id": np.repeat(np.arange(5_000, dtype="int64"), 10),
        "ts": pd.Timestamp(T0) + pd.to_timedelta(rng.integers(0, 10 * 86_400, n), unit="s"),
        "spend": rng.random(n), "orders": rng.integers(0, 100, n).astype("int64"),
        "segment": rng.choice(["a", "b", "c"], n),
    }).drop_duplicates(["customer_id", "ts"])
    ingest("customer", df, online=False)
    t_mid, t1 = T0 + timedelta(days=3), T0 + timedelta(days=10)
    materialize("customer", T0, t_mid)  # an earlier successful run sets the watermark
    store = open_online_store()
    # 5,000 entities in batches of 500: the 4th durable batch is 40% of the way.
    assert _materialize_in_subprocess({"LOOPML_FAULTS": "materialize_batch_written:kill@4"}, T0, t1) == -9
    assert get_watermark("customer") == t_mid  # the killed run did not move it
    assert dump(store) != golden(df, T0, t1)
    assert _materialize_in_subprocess({}, T0, t1) == 0
    assert dump(store) == golden(df, T0, t1)
    assert get_watermark("customer") == t1


def test_nan_and_null_feature_values_survive_the_online_round_trip(group) -> None:
    df = customer_rows(2, 1).astype({"orders": "Int64"})
    df.loc[0, "spend"] = float("nan")
    df.loc[1, "orders"] = pd.NA
    df.loc[1, "segment"] = None
    ingest("customer", df)
    first, second = get_online_features("customer", [1, 2])
    assert first["spend"] is None and first["orders"] == df.orders[0]  # NaN is stored as missing
    assert second["orders"] is None and second["segment"] is None and second["spend"] == df.spend[1]


def test_whole_flow_on_sqlite_and_postgresql_metadata(any_home) -> None:
    from loopml.features import describe_feature_group, get_training_set

    register_feature_group(customer_group())
    df = customer_rows(3, 3)
    ingest("customer", df, online=False)
    end = T0 + timedelta(days=1)
    assert materialize("customer", T0, end).watermark == end
    assert materialize("customer", T0, T0 + timedelta(hours=1)).watermark == end  # never backwards
    stats = describe_feature_group("customer")
    assert stats.offline_rows == 9 and list(stats.watermarks.values()) == [end]
    entity = pd.DataFrame({"customer_id": [2], "ts": [pd.Timestamp(end)]})
    assert get_training_set(entity, ["customer:orders"]).orders.tolist() == [df.orders[4]]
