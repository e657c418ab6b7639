"""Batch transform of 1,000,000 rows against one in-process predict call over the whole frame.

    .venv/bin/python bench/serve_transform.py [--rows 1000000] [--shard-rows 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--shard-rows", type=int, default=100_000)
    args = parser.parse_args()
    from serve_coldstart import approved_model, frame

    home, model = approved_model()
    from loopml.serve.transform import transform

    data = frame(args.rows, seed=1)
    source = home / "input.parquet"
    data.to_parquet(source)
    t0 = time.perf_counter()
    model.predict(data)
    floor = time.perf_counter() - t0
    result = {"bench": "serve_transform", "rows": args.rows, "shard_rows": args.shard_rows,
              "load_avg_1m": round(os.getloadavg()[0], 2), "cores": os.cpu_count(),
              "in_process_predict_s": round(floor, 3), "in_process_rows_per_s": round(args.rows / floor)}
    for workers in (1, 2):
        out = home / f"out-{workers}"
        run = transform("bench@approved", source, out, workers=workers, shard_rows=args.shard_rows)
        assert run.rows == args.rows, run
        result[f"workers_{workers}"] = {"seconds": round(run.seconds, 2), "rows_per_s": round(args.rows / run.seconds),
                                        "fraction_of_in_process": round(floor / run.seconds, 3)}
        shutil.rmtree(out)
    result["speedup_2_vs_1"] = round(result["workers_1"]["seconds"] / result["workers_2"]["seconds"], 2)
    print(json.dumps(result))
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
