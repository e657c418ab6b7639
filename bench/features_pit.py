"""Benchmark: point-in-time training set, loopml vs a bare DuckDB ASOF JOIN vs Feast's local offline store.

1,000,000 entity rows against 3,000,000 feature rows x 10 features (100,000 entities x 30 days, Parquet
partitioned by event date, written by ``loopml.features.ingest``). Each contender runs in its own process
(Feast in its own venv, ``bench/.venvs/feast``) so peak memory is measured per contender.

    .venv/bin/python bench/features_pit.py [--entity-rows 1000000] [--entities 100000] [--days 30]

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FEAST_PY = HERE / ".venvs" / "feast" / "bin" / "python"
FEATURES = [f"f{i}" for i in range(10)]
DAY0 = "2024-01-01"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(work: Path, entities: int, days: int, entity_rows: int) -> dict:
    """Generate and ingest the feature data (once) and the entity rows; return file list and timings."""
    import numpy as np
    import pandas as pd

    os.environ["LOOPML_HOME"] = str(work / "home")
    from loopml.features import FeatureGroup, ingest, register_feature_group
    from loopml.features.offline import files_of, manifests

    register_feature_group(FeatureGroup("pit_bench", ["entity_id"], "ts", dict.fromkeys(FEATURES, "float64")))
    ingest_seconds = None
    if not manifests("pit_bench"):
        rng = np.random.default_rng(0)
        n = entities * days
        day = np.repeat(np.arange(days), entities)
        ts = pd.Timestamp(DAY0, tz="UTC") + pd.to_timedelta(day * 86_400 + rng.integers(0, 86_400, n), unit="s")
        df = pd.DataFrame({"entity_id": np.tile(np.arange(entities, dtype="int64"), days), "ts": ts,
                           **{f: rng.random(n) for f in FEATURES}})
        started = time.perf_counter()
        ingest("pit_bench", df, online=False)
        ingest_seconds = round(time.perf_counter() - started, 2)
    rng = np.random.default_rng(1)
    span = (days + 1) * 86_400
    entity_df = pd.DataFrame({
        "entity_id": rng.integers(0, entities, entity_rows).astype("int64"),
        "ts": pd.Timestamp(DAY0, tz="UTC") + pd.to_timedelta(rng.integers(0, span, entity_rows), unit="s"),
        "label": rng.integers(0, 2, entity_rows),
    })
    entity_df.to_parquet(work / "entities.parquet")
    files = files_of(manifests("pit_bench"))
    (work / "files.json").write_text(json.dumps(files))
    if not (work / "feast_features.parquet").exists():  # the same rows as one file, for Feast's FileSource
        import duckdb

        duckdb.sql(f"COPY (SELECT * FROM read_parquet({files!r})) TO '{work / 'feast_features.parquet'}'")
    return {"ingest_seconds": ingest_seconds, "files": len(files)}


def _timed(fn, repeats: int) -> dict:  # type: ignore[no-untyped-def]
    times, out = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return {"seconds": round(min(times), 3), "runs": [round(t, 3) for t in times], "rows": len(out),
            "non_null": int(out["f0"].notna().sum()), "peak_rss_mb": round(_peak_mb())}


def child_loopml(work: Path, repeats: int) -> dict:
    import pandas as pd

    os.environ["LOOPML_HOME"] = str(work / "home")
    from loopml.features import get_training_set

    entity_df = pd.read_parquet(work / "entities.parquet")
    return _timed(lambda: get_training_set(entity_df, [f"pit_bench:{f}" for f in FEATURES]), repeats)


def child_duckdb(work: Path, repeats: int) -> dict:
    import duckdb
    import pandas as pd

    entity_df = pd.read_parquet(work / "entities.parquet")
    files = json.loads((work / "files.json").read_text())
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.register("e", entity_df)
    cols = ", ".join(f"f.{f}" for f in FEATURES)
    sql = (f"SELECT e.*, {cols} FROM e ASOF LEFT JOIN read_parquet({files!r}) f "
           "ON e.entity_id = f.entity_id AND e.ts >= f.ts")
    return _timed(lambda: con.execute(sql).df(), repeats)


def run_child(kind: str, work: Path, repeats: int, timeout: float) -> dict:
    if kind == "feast":
        if not FEAST_PY.exists():
            return {"error": f"Feast venv missing at {FEAST_PY}"}
        cmd = [str(FEAST_PY), str(HERE / "features_pit_feast.py"), str(work)]
    else:
        cmd = [sys.executable, __file__, "--child", kind, "--work", str(work), "--repeats", str(repeats)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {timeout:.0f} s", "seconds_lower_bound": timeout}
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:] or f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child")
    parser.add_argument("--work", default="/tmp/loopml-bench-features-pit")
    parser.add_argument("--entity-rows", type=int, default=1_000_000)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--feast-timeout", type=float, default=1800)
    parser.add_argument("--skip-feast", action="store_true")
    args = parser.parse_args()
    work = Path(args.work)
    if args.child:
        fn = child_loopml if args.child == "loopml" else child_duckdb
        print(json.dumps(fn(work, args.repeats)))
        return
    work.mkdir(parents=True, exist_ok=True)
    setup = prepare(work, args.entities, args.days, args.entity_rows)
    result = {"bench": "features_pit", "entity_rows": args.entity_rows,
              "feature_rows": args.entities * args.days, "features": len(FEATURES), **setup}
    for kind in ("loopml", "duckdb") + (() if args.skip_feast else ("feast",)):
        result[kind] = run_child(kind, work, args.repeats, args.feast_timeout if kind == "feast" else 900)
    ours, bare = result["loopml"].get("seconds"), result["duckdb"].get("seconds")
    feast = result.get("feast", {}).get("seconds") or result.get("feast", {}).get("seconds_lower_bound")
    if ours and bare:
        result["loopml_vs_duckdb"] = round(ours / bare, 2)
    if ours and feast:
        result["feast_vs_loopml"] = round(feast / ours, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
