"""Feast's local (file, dask) offline store on the data of ``features_pit.py``; run by that script with
``bench/.venvs/feast/bin/python bench/features_pit_feast.py WORKDIR``. Prints one JSON line."""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
from feast.types import Float64

FEATURES = [f"f{i}" for i in range(10)]


def main(work: Path) -> None:
    repo = work / "feast_repo"
    repo.mkdir(exist_ok=True)
    (repo / "feature_store.yaml").write_text(
        f"project: bench\nregistry: {repo / 'registry.db'}\nprovider: local\n"
        f"online_store:\n  type: sqlite\n  path: {repo / 'online.db'}\noffline_store:\n  type: file\n"
        "entity_key_serialization_version: 3\n"
    )
    source = FileSource(path=str(work / "feast_features.parquet"), timestamp_field="ts",
                        created_timestamp_column="_write_ts")
    entity = Entity(name="entity_id", join_keys=["entity_id"], value_type=ValueType.INT64)
    view = FeatureView(name="pit_bench", entities=[entity], ttl=timedelta(0),
                       schema=[Field(name=f, dtype=Float64) for f in FEATURES], source=source)
    store = FeatureStore(repo_path=str(repo))
    store.apply([entity, view])
    entity_df = pd.read_parquet(work / "entities.parquet").rename(columns={"ts": "event_timestamp"})
    started = time.perf_counter()
    out = store.get_historical_features(entity_df, [f"pit_bench:{f}" for f in FEATURES]).to_df()
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": round(seconds, 3), "rows": len(out), "non_null": int(out["f0"].notna().sum()),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                      "feast": __import__("feast").__version__, "offline_store": "file (dask)"}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
