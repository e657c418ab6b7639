"""A 20-trial tuning job of the built-in XGBoost on 50,000 rows with max_parallel=2.

    .venv/bin/python bench/train_tuning.py [--rows 50000] [--trials 20] [--parallel 2]

Prints one JSON line: wall time, trials completed/pruned, best validation AUC.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-tuning-"))
    os.environ["LOOPML_HOME"] = str(folder / "home")
    from loopml.demo.churn_data import make_churn
    from loopml.train.tuning import Float, Int, tune

    columns = ["tenure_months", "monthly_charges", "support_calls", "usage_hours", "churned"]
    make_churn(args.rows, seed=1)[columns].to_parquet(folder / "train.parquet", index=False)
    make_churn(args.rows // 5, seed=2)[columns].to_parquet(folder / "valid.parquet", index=False)
    start = time.perf_counter()
    result = tune({"max_depth": Int(2, 8), "eta": Float(0.02, 0.4, log=True), "subsample": Float(0.6, 1.0)},
                  objective="validation:auc", algorithm="xgboost",
                  channels={"train": folder / "train.parquet", "validation": folder / "valid.parquet"},
                  hyperparameters={"target": "churned", "num_round": 100, "checkpoint_every": 25},
                  max_trials=args.trials, max_parallel=args.parallel, pruner="median")
    wall = time.perf_counter() - start
    statuses = [t["status"] for t in result.trials]
    print(json.dumps({"bench": "train_tuning", "rows": args.rows, "trials": args.trials,
                      "max_parallel": args.parallel, "wall_s": round(wall, 2),
                      "completed": statuses.count("COMPLETED"), "pruned": sum(t["pruned"] for t in result.trials),
                      "best_auc": round(result.best_value or 0.0, 4), "best_params": result.best_params}))


if __name__ == "__main__":
    main()
