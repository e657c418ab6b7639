"""Fixtures for the feature store tests: a registered group, sample data, and a Redis store per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loopml.features import FeatureGroup, close_online_stores, register_feature_group
from loopml.features.online import OnlineStore

REDIS_URL = "redis://127.0.0.1:6379/0"


def customer_group(name: str = "customer", *, ttl: timedelta | None = None) -> FeatureGroup:
    return FeatureGroup(name, entity_keys=["customer_id"], event_time="ts",
                        features={"spend": "float64", "orders": "int64", "segment": "string"}, ttl=ttl,
                        description="spend and orders per customer", owner="team-growth")


def customer_rows(n_entities: int = 3, n_days: int = 4, *, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2024-05-01", periods=n_days, freq="D", tz="UTC")
    ids, times = np.meshgrid(np.arange(1, n_entities + 1), ts, indexing="ij")
    n = ids.size
    return pd.DataFrame({
        "customer_id": ids.ravel().astype("int64"), "ts": pd.DatetimeIndex(times.ravel()),
        "spend": rng.random(n).round(3), "orders": rng.integers(0, 9, n).astype("int64"),
        "segment": rng.choice(["a", "b", "c"], n),
    })


@pytest.fixture
def group(home: Path) -> Iterator[FeatureGroup]:
    fg = customer_group()
    register_feature_group(fg)
    yield fg
    close_online_stores()


@pytest.fixture
def redis_store(home: Path) -> Iterator[OnlineStore]:
    from loopml.features._redis_online import RedisOnlineStore

    store = RedisOnlineStore(REDIS_URL, prefix=f"test:{uuid.uuid4().hex[:10]}:")
    yield store
    keys = list(store._client.scan_iter(match=store.prefix + "*"))
    if keys:
        store._client.delete(*keys)
    store.close()
