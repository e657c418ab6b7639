"""Benchmark: materializing the latest day of 100,000 entities into the online store, and online read
latency (p50/p99) for 1 and 100 entities x 10 features, on SQLite (default) and Redis.

    .venv/bin/python bench/features_online.py [--entities 100000] [--redis redis://127.0.0.1:6379/0]

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time
import uuid

FEATURES = [f"f{i}" for i in range(10)]


def _setup(entities: int) -> None:
    import numpy as np
    import pandas as pd

    from loopml.features import FeatureGroup, ingest, register_feature_group

    register_feature_group(FeatureGroup("online_bench", ["entity_id"], "ts", dict.fromkeys(FEATURES, "float64")))
    rng = np.random.default_rng(0)
    for day in ("2024-01-01", "2024-01-02"):
        ts = pd.Timestamp(day, tz="UTC") + pd.to_timedelta(rng.integers(0, 86_400, entities), unit="s")
        df = pd.DataFrame({"entity_id": np.arange(entities, dtype="int64"), "ts": ts,
                           **{f: rng.random(entities) for f in FEATURES}})
        ingest("online_bench", df, online=False)


def _materialize(store) -> dict:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from loopml.features import materialize

    started = time.perf_counter()
    result = materialize("online_bench", datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 3, tzinfo=UTC),
                         store=store)
    return {"seconds": round(time.perf_counter() - started, 3), "entities": result.entities}


def _latency(fn, batches: list) -> dict:  # type: ignore[no-untyped-def]
    for ids in batches[:200]:
        fn(ids)  # warm up
    samples = []
    for ids in batches:
        started = time.perf_counter_ns()
        fn(ids)
        samples.append(time.perf_counter_ns() - started)
    samples.sort()

    def pct(p: float) -> float:
        return round(samples[min(len(samples) - 1, int(p * len(samples)))] / 1e6, 4)

    return {"p50_ms": pct(0.50), "p99_ms": pct(0.99), "n": len(samples)}


def _reads(store, entities: int, n: int) -> dict:  # type: ignore[no-untyped-def]
    from loopml.features import get_online_features
    from loopml.features.online import encode_key, open_online_store  # noqa: F401

    rnd = random.Random(0)
    singles = [rnd.randrange(entities) for _ in range(n)]
    hundreds = [[rnd.randrange(entities) for _ in range(100)] for _ in range(n // 5)]
    api_one = _latency(lambda i: get_online_features("online_bench", i, store=store), singles)
    api_100 = _latency(lambda ids: get_online_features("online_bench", ids, store=store), hundreds)
    raw_one = _latency(lambda i: store.read("online_bench", f"[{i}]"), singles)
    raw_100 = _latency(lambda ids: store.read_batch("online_bench", [f"[{i}]" for i in ids]), hundreds)
    return {"get_online_features_1": api_one, "get_online_features_100": api_100,
            "store_read_1": raw_one, "store_read_batch_100": raw_100}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=20_000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="loopml-bench-online-")
    os.environ["LOOPML_HOME"] = home
    os.environ.setdefault("LOOPML_USER", "bench")
    from loopml.features import open_online_store
    from loopml.features._redis_online import RedisOnlineStore

    _setup(args.entities)
    sqlite_store = open_online_store()
    redis_store = RedisOnlineStore(args.redis, prefix=f"bench:{uuid.uuid4().hex[:8]}:")
    result = {"bench": "features_online", "entities": args.entities, "features": len(FEATURES)}
    try:
        result["materialize_sqlite"] = _materialize(sqlite_store)
        result["materialize_redis"] = _materialize(redis_store)
        result["read_sqlite"] = _reads(sqlite_store, args.entities, args.reads)
        result["read_redis"] = _reads(redis_store, args.entities, args.reads)
    finally:
        keys = list(redis_store._client.scan_iter(match=redis_store.prefix + "*", count=10_000))
        for start in range(0, len(keys), 10_000):
            redis_store._client.delete(*keys[start:start + 10_000])
        shutil.rmtree(home, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
