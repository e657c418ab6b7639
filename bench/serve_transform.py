"""Batch transform of 1,000,000 rows against its floor: one process that reads the same Parquet input,
predicts and writes the output (read-predict-write), with the same model loaded the same way.

The input is written in row groups of ``--shard-rows`` (as Arrow and Spark datasets are), which the
transform reads in place, one shard per row group. Both sides are timed from a fresh process to the
output on disk, so both pay Python start-up, imports
and the model load; the baseline's loop alone is reported too. loopml runs with 1 and 2 workers.

    .venv/bin/python bench/serve_transform.py [--rows 1000000] [--shard-rows 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

BASELINE = r"""
import sys, time
t0 = time.perf_counter()
import pyarrow.parquet as pq
from loopml.serve._model import load_folder
model = load_folder(sys.argv[3], name="baseline")
t1 = time.perf_counter()
table = pq.read_table(sys.argv[1])
frame = table.to_pandas()
frame["prediction"] = model(frame[[c.name for c in model.columns]])
frame[["prediction"]].to_parquet(sys.argv[2], index=False)
print(time.perf_counter() - t0, time.perf_counter() - t1)
"""

TRANSFORM = r"""
import sys, time
t0 = time.perf_counter()
from loopml.serve.transform import transform
run = transform("bench@approved", sys.argv[1], sys.argv[2], workers=int(sys.argv[3]), shard_rows=int(sys.argv[4]))
assert run.rows == int(sys.argv[5]), run
print(time.perf_counter() - t0, run.seconds)
"""


def _timed(script: str, *args: str) -> tuple[float, float]:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, check=True,
                         env=dict(os.environ))
    inner, loop = map(float, out.stdout.split()[-2:])
    return round(time.perf_counter() - started, 3), round(loop, 3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--shard-rows", type=int, default=100_000)
    args = parser.parse_args()
    from serve_coldstart import approved_model, frame

    from loopml import registry

    home, _ = approved_model()
    source = home / "input.parquet"
    frame(args.rows, seed=1).to_parquet(source, row_group_size=args.shard_rows)  # as datasets are written
    folder = home / "model"
    registry.fetch_model(registry.resolve("bench@approved"), folder)
    result = {"bench": "serve_transform", "rows": args.rows, "shard_rows": args.shard_rows,
              "load_avg_1m_start": round(os.getloadavg()[0], 2), "cores": os.cpu_count()}
    wall, loop = _timed(BASELINE, str(source), str(home / "baseline.parquet"), str(folder))
    result["baseline_read_predict_write"] = {"seconds": wall, "loop_only_seconds": loop,
                                             "rows_per_s": round(args.rows / wall)}
    for workers in (1, 2):
        out = home / f"out-{workers}"
        wall, inner = _timed(TRANSFORM, str(source), str(out), str(workers), str(args.shard_rows), str(args.rows))
        result[f"workers_{workers}"] = {"seconds": wall, "transform_call_seconds": inner,
                                        "rows_per_s": round(args.rows / wall),
                                        "fraction_of_baseline": round(result["baseline_read_predict_write"]["seconds"]
                                                                      / wall, 3)}
        shutil.rmtree(out)
    result["speedup_2_vs_1"] = round(result["workers_1"]["seconds"] / result["workers_2"]["seconds"], 2)
    result["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result))
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
