"""Data-quality drift report: loopml.monitor vs Evidently's DataDriftPreset on the same data, one run.

A 1,000,000-row baseline and a 1,000,000-row window, 20 columns (15 numeric, 5 categorical). Drift is
injected into five columns of the window: ``num_0`` mean shift 0.5 sd, ``num_1`` standard deviation x1.5,
``num_2`` mean shift 0.25 sd, ``cat_0`` category frequencies reversed, ``cat_1`` a new category in 20% of
rows. The other 15 columns are fresh draws from the baseline's distributions.

loopml is timed twice: the check alone (the baseline's statistics.json/constraints.json are computed
once, as Model Monitor does) and baseline + check (what Evidently does on every run). Evidently runs in
its own virtualenv ``bench/.venvs/evidently`` (created here if missing) on the same arrays.

Run: ``.venv/bin/python bench/drift_report.py [--rows N]``; prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent
EVIDENTLY_VENV = ROOT / ".venvs" / "evidently"
DRIFTED = ["num_0", "num_1", "num_2", "cat_0", "cat_1"]
LEVELS = np.array(["a", "b", "c", "d", "e"])
FREQUENCIES = np.array([0.4, 0.3, 0.15, 0.1, 0.05])

EVIDENTLY_CHILD = r"""
import json, sys, time
import numpy as np, pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset

def frame(prefix):
    data = np.load(f"{sys.argv[1]}/{prefix}.npz", allow_pickle=True)
    columns = {name: data[name] for name in data.files}
    return pd.DataFrame(columns)

reference, current = frame("baseline"), frame("window")
start = time.perf_counter()
snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
result = snapshot.dict()
seconds = time.perf_counter() - start
flagged = []
for metric in result["metrics"]:
    config = metric["config"]
    if config.get("type", "").endswith("ValueDrift"):
        value, threshold = metric["value"], config["threshold"]
        is_p_value = "p_value" in config["method"].lower() or "test" in config["method"].lower()
        if (value < threshold) if is_p_value else (value >= threshold):
            flagged.append(config["column"])
print(json.dumps({"seconds": seconds, "flagged": sorted(flagged)}))
"""


def make_data(rows: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The baseline and the window with drift injected into the five ``DRIFTED`` columns."""
    rng = np.random.default_rng(seed)
    base, window = {}, {}
    for i in range(15):
        scale = 1.0 + i
        base[f"num_{i}"] = rng.normal(10.0 * i, scale, rows)
        window[f"num_{i}"] = rng.normal(10.0 * i, scale, rows)
    window["num_0"] = window["num_0"] + 0.5 * 1.0
    window["num_1"] = 10.0 + (window["num_1"] - 10.0) * 1.5
    window["num_2"] = window["num_2"] + 0.25 * 3.0
    for i in range(5):
        base[f"cat_{i}"] = rng.choice(LEVELS, rows, p=FREQUENCIES)
        window[f"cat_{i}"] = rng.choice(LEVELS, rows, p=FREQUENCIES)
    window["cat_0"] = rng.choice(LEVELS, rows, p=FREQUENCIES[::-1])
    window["cat_1"] = np.where(rng.random(rows) < 0.2, "new", window["cat_1"])
    return pd.DataFrame(base), pd.DataFrame(window)


def run_loopml(base: pd.DataFrame, window: pd.DataFrame) -> dict[str, object]:
    """Time baseline() and check_data_quality() and return the figures and the flagged columns."""
    from loopml.monitor import baseline, check_data_quality

    start = time.perf_counter()
    statistics, constraints = baseline(base, comparison_threshold=0.05, categorical_comparison_threshold=0.05)
    baseline_seconds = time.perf_counter() - start
    start = time.perf_counter()
    report = check_data_quality(window, statistics, constraints)
    check_seconds = time.perf_counter() - start
    default_stats, default_constraints = statistics, {**constraints, "monitoring_config": None}
    at_default = check_data_quality(window, default_stats, default_constraints).drifted_features
    return {
        "baseline_seconds": baseline_seconds,
        "check_seconds": check_seconds,
        "flagged": sorted(report.drifted_features),
        "flagged_at_model_monitor_default_0_1": sorted(at_default),
    }


def run_evidently(base: pd.DataFrame, window: pd.DataFrame) -> dict[str, object]:
    """Run Evidently's DataDriftPreset in its own virtualenv on the same data."""
    python = EVIDENTLY_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(EVIDENTLY_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "evidently", "pandas<3"], check=True)
    with tempfile.TemporaryDirectory() as folder:
        for name, frame in (("baseline", base), ("window", window)):
            np.savez(f"{folder}/{name}.npz", **{c: frame[c].to_numpy() for c in frame.columns})
        out = subprocess.run(
            [str(python), "-c", EVIDENTLY_CHILD, folder], check=True, capture_output=True, text=True
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def correctness(flagged: list[str], columns: list[str]) -> dict[str, object]:
    """Whether every drifted column and no clean one was flagged."""
    missed = sorted(set(DRIFTED) - set(flagged))
    false_alarms = sorted(set(flagged) - set(DRIFTED))
    return {"correct": not missed and not false_alarms, "missed": missed, "false_alarms": false_alarms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-evidently", action="store_true")
    args = parser.parse_args()
    base, window = make_data(args.rows)
    ours = run_loopml(base, window)
    result: dict[str, object] = {
        "bench": "drift_report",
        "rows": args.rows,
        "columns": base.shape[1],
        "loopml_check_s": round(ours["check_seconds"], 3),
        "loopml_baseline_s": round(ours["baseline_seconds"], 3),
        "loopml_baseline_plus_check_s": round(ours["check_seconds"] + ours["baseline_seconds"], 3),
        "loopml": correctness(ours["flagged"], list(base.columns)),
        "loopml_flagged_at_default_threshold_0_1": ours["flagged_at_model_monitor_default_0_1"],
    }
    if not args.skip_evidently:
        theirs = run_evidently(base, window)
        result["evidently_s"] = round(theirs["seconds"], 3)
        result["evidently"] = correctness(theirs["flagged"], list(base.columns))
        result["speedup_check_only"] = round(theirs["seconds"] / ours["check_seconds"], 1)
        result["speedup_baseline_plus_check"] = round(
            theirs["seconds"] / (ours["check_seconds"] + ours["baseline_seconds"]), 1
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
