"""Benchmark: the data stage end to end on one synthetic table.

Registers a CSV of N rows (default 1,000,000 x 7 columns), re-registers it unchanged (dedup by content
hash), loads it back (hash verified), runs a DuckDB group-by over the catalog, profiles it, checks it for
leakage, and fits/serves a recipe — compared with the equivalent hand-written scikit-learn
ColumnTransformer (impute + one-hot + scale) on the same data, for fit time and one-row serving latency.

    .venv/bin/python bench/data_prep.py [--rows 1000000]

Prints one JSON line (seconds unless named otherwise). Runs in a scratch LOOPML_HOME.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def _frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "customer_id": np.arange(rows), "plan": rng.choice(["basic", "pro", "team", "edu"], rows),
        "region": rng.choice([f"r{i}" for i in range(30)], rows), "tenure": rng.integers(1, 60, rows),
        "spend": np.round(rng.gamma(2.0, 30.0, rows), 2), "visits": rng.poisson(4, rows),
        "churned": rng.integers(0, 2, rows),
    })
    df.loc[::11, "spend"] = np.nan
    return df


def _timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn()
    return out, round(time.perf_counter() - start, 3)


def _serve_ms(transform, row: pd.DataFrame, n: int = 200) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        start = time.perf_counter()
        transform(row)
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 3)


def _sklearn_pipeline():  # type: ignore[no-untyped-def]
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    num = Pipeline([("i", SimpleImputer(strategy="median")), ("s", StandardScaler())])
    return ColumnTransformer([("num", num, ["tenure", "spend", "visits"]),
                              ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["plan", "region"])])


RECIPE = [
    {"op": "impute", "columns": ["spend"], "strategy": "median"},
    {"op": "onehot", "columns": ["plan", "region"]},
    {"op": "scale", "columns": ["tenure", "spend", "visits"], "method": "standard"},
    {"op": "drop", "columns": ["customer_id"]},
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="loopml-bench-data-"))
    os.environ["LOOPML_HOME"] = str(tmp / "home")
    from loopml.data import Recipe, detect_leakage, load_dataset, profile, register_dataset, sql

    df = _frame(args.rows)
    csv = tmp / "customers.csv"
    df.to_csv(csv, index=False)
    info, t_register = _timed(lambda: register_dataset("customers", csv))
    again, t_reregister = _timed(lambda: register_dataset("customers", csv))
    loaded, t_load = _timed(lambda: load_dataset("customers"))
    _, t_sql = _timed(lambda: sql("SELECT plan, region, avg(spend) s, count(*) n FROM customers GROUP BY ALL"))
    _, t_profile = _timed(lambda: profile(loaded))
    report, t_leak = _timed(lambda: detect_leakage(loaded, "churned"))
    recipe = Recipe(RECIPE)
    _, t_recipe_fit = _timed(lambda: recipe.fit(loaded, target="churned"))
    sk = _sklearn_pipeline()
    features = loaded.drop(columns=["churned"])
    _, t_sk_fit = _timed(lambda: sk.fit(features))
    row = features.iloc[[5]]
    print(json.dumps({
        "bench": "data_prep", "rows": args.rows, "csv_mb": round(csv.stat().st_size / 1e6, 1),
        "parquet_mb": round(info.size / 1e6, 1), "register_s": t_register,
        "register_rows_per_s": int(args.rows / t_register), "reregister_same_content_s": t_reregister,
        "deduplicated": again.id == info.id, "load_verified_s": t_load, "sql_groupby_s": t_sql,
        "profile_s": t_profile, "leakage_s": t_leak, "leakage_flagged": report.flagged,
        "recipe_fit_s": t_recipe_fit, "sklearn_fit_s": t_sk_fit,
        "recipe_serve_1row_ms_p50": _serve_ms(recipe.transform, row),
        "sklearn_serve_1row_ms_p50": _serve_ms(sk.transform, row),
    }))


if __name__ == "__main__":
    main()
