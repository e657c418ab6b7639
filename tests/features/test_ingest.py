from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from loopml.errors import ValidationError
from loopml.features import (
    describe_feature_group,
    get_online_features,
    get_training_set,
    ingest,
    open_online_store,
)
from loopml.features.offline import manifests
from tests.features.conftest import customer_rows

ROOT = Path(__file__).resolve().parents[2]


def _nothing_written(home: Path) -> bool:
    files = list((home / "features").rglob("*.parquet")) if (home / "features").exists() else []
    return not manifests("customer") and not files


def test_ingest_appends_partitions_by_event_date(group, home) -> None:
    result = ingest("customer", customer_rows(3, 4))
    assert (result.rows_received, result.rows_written, result.online_rows) == (12, 12, 3)
    days = sorted(p.parent.name for p in (home / "features" / "customer").rglob("*.parquet"))
    assert days == ["event_date=2024-05-01", "event_date=2024-05-02", "event_date=2024-05-03",
                    "event_date=2024-05-04"]
    assert describe_feature_group("customer").offline_rows == 12


def test_reingesting_the_same_rows_is_idempotent(group) -> None:
    df = customer_rows(3, 4)
    ingest("customer", df)
    again = ingest("customer", df)
    assert (again.rows_written, again.rows_skipped, again.ingest_id) == (0, 12, None)
    bigger = pd.concat([df, customer_rows(4, 5, seed=0).tail(5)])
    assert ingest("customer", bigger.drop_duplicates(["customer_id", "ts"], keep="first")).rows_written == 5
    assert describe_feature_group("customer").offline_rows == 17


def test_each_record_keeps_event_and_write_time(group) -> None:
    first = ingest("customer", customer_rows(1, 1))
    fixed = customer_rows(1, 1).assign(spend=99.0)
    second = ingest("customer", fixed)
    assert second.rows_written == 1 and second.written_at > first.written_at
    entity = pd.DataFrame({"customer_id": [1], "ts": pd.to_datetime(["2024-05-02"], utc=True)})
    now = get_training_set(entity, ["customer:spend"])
    before = get_training_set(entity, ["customer:spend"], as_of=first.written_at)
    assert now.spend.tolist() == [99.0]
    assert before.spend.tolist() == customer_rows(1, 1).spend.tolist()
    assert get_online_features("customer", 1)["spend"] == 99.0


def _broken(kind: str) -> pd.DataFrame:
    df = customer_rows(2, 2)
    if kind == "missing_key":
        return df.drop(columns="customer_id")
    if kind == "missing_time":
        return df.drop(columns="ts")
    if kind == "naive_time":
        return df.assign(ts=df.ts.dt.tz_localize(None))
    if kind == "null_key":
        return df.assign(customer_id=pd.array([1, None, 2, 2], dtype="Int64"))
    if kind == "unknown_feature":
        return df.assign(colour="red")
    if kind == "wrong_type":
        return df.assign(orders=df.orders + 0.5)
    if kind == "missing_feature":
        return df.drop(columns="segment")
    if kind == "string_key":
        return df.assign(customer_id=df.customer_id.astype(str))
    return df.assign(segment=[1, "a", "b", "c"])  # a non-string in a string feature


@pytest.mark.parametrize(("kind", "match"), [
    ("missing_key", r"missing required columns \['customer_id'\]"),
    ("missing_time", r"missing required columns \['ts'\]"),
    ("naive_time", "column 'ts' must hold timezone-aware timestamps, got dtype datetime64"),
    ("null_key", "entity key 'customer_id' has 1 null values"),
    ("unknown_feature", r"unknown columns \['colour'\]"),
    ("wrong_type", r"feature 'orders' is declared int64 and needs an integer column .*got dtype float64"),
    ("missing_feature", r"missing feature columns \['segment'\]"),
    ("string_key", "entity key 'customer_id' is declared int64 but the column has dtype object"),
    ("bad_string", "column 'segment' cannot be stored as string"),
])
def test_bad_data_is_rejected_naming_the_column_and_nothing_is_written(group, home, kind, match) -> None:
    with pytest.raises(ValidationError, match=match):
        ingest("customer", _broken(kind))
    assert _nothing_written(home)
    assert list(open_online_store().scan("customer")) == []


def test_every_problem_is_reported_at_once(group) -> None:
    df = customer_rows(2, 2).drop(columns="ts").assign(colour="red", orders=0.5)
    with pytest.raises(ValidationError, match="3 problem") as info:
        ingest("customer", df)
    assert len(info.value.problems) == 3


def test_two_different_rows_for_one_entity_and_time_are_refused(group, home) -> None:
    df = customer_rows(2, 2)
    clash = pd.concat([df, df.head(1).assign(spend=-1.0)])
    with pytest.raises(ValidationError, match="2 different rows for the same entity and event time"):
        ingest("customer", clash)
    assert _nothing_written(home)
    assert ingest("customer", pd.concat([df, df.head(1)])).rows_written == 4  # exact duplicates are fine


@pytest.mark.slow
def test_crash_after_files_before_manifest_leaves_nothing_visible(group, home) -> None:
    code = ("from tests.features.conftest import customer_rows; from loopml.features import ingest; "
            "ingest('customer', customer_rows(3, 4))")
    env = {**os.environ, "LOOPML_FAULTS": "feature_ingest_files_written:kill"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, timeout=60)
    assert proc.returncode == -9
    assert list((home / "features").rglob("*.parquet"))  # orphan files exist on disk ...
    assert manifests("customer") == []  # ... but no reader sees them
    entity = pd.DataFrame({"customer_id": [1], "ts": pd.to_datetime(["2024-05-09"], utc=True)})
    assert get_training_set(entity, ["customer:spend"]).spend.isna().all()
    assert ingest("customer", customer_rows(3, 4)).rows_written == 12  # the re-run completes the ingest
    assert get_training_set(entity, ["customer:spend"]).spend.notna().all()


@pytest.mark.slow
def test_offline_store_on_s3(group, home, s3_bucket, monkeypatch) -> None:
    from loopml.config import reset_settings

    monkeypatch.setenv("LOOPML_FEATURES", s3_bucket.rsplit("/", 1)[0] + "/features")
    reset_settings()
    df = customer_rows(3, 3)
    assert ingest("customer", df).rows_written == 9
    assert ingest("customer", df).rows_written == 0
    entity = pd.DataFrame({"customer_id": [3, 1], "ts": pd.to_datetime(["2024-05-09", "2024-05-01"], utc=True)})
    got = get_training_set(entity, ["customer:spend"])
    assert got.spend.tolist() == [df.spend.iloc[-1], df.spend.iloc[0]]
    assert not (home / "features").exists()
