"""Batch transform: shards, resume after a kill, row-level failures, joined columns, approval gate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loopml.errors import PermissionDenied
from loopml.serve.transform import transform


def _input(path: Path, rows: int, *, invalid: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(rows, 3)), columns=["a", "b", "c"])
    frame["a"] = frame["a"].astype(object)
    bad = rng.choice(rows, size=invalid, replace=False)
    for i, row in enumerate(sorted(bad)):
        frame.at[row, "a"] = "oops" if i % 2 else None
    frame["id"] = [f"r{i}" for i in range(rows)]
    frame.to_csv(path, index=False)
    return frame


def _outputs(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    parts = pd.concat([pd.read_parquet(p) for p in sorted(out.glob("part-*.parquet"))])
    failures = [pd.read_json(p, lines=True) for p in sorted(out.glob("failures-*.jsonl")) if p.stat().st_size]
    return parts, pd.concat(failures) if failures else pd.DataFrame(columns=["_row"])


@pytest.mark.slow
def test_mixed_valid_and_invalid_rows_reconcile(served, tmp_path: Path) -> None:  # noqa: ANN001
    served()
    _input(tmp_path / "in.csv", 1000, invalid=37)
    result = transform("churn@approved", tmp_path / "in.csv", tmp_path / "out", shard_rows=250, join=["id"])
    parts, failures = _outputs(tmp_path / "out")
    assert (result.rows, result.failures, result.shards) == (963, 37, 4)
    assert len(parts) == 963 and len(failures) == 37
    assert set(parts["_row"]) | set(failures["_row"]) == set(range(1000))
    assert parts["id"].tolist() == [f"r{i}" for i in parts["_row"]]
    assert failures["pointer"].str.endswith("/a").all()


def test_a_corrected_csv_in_the_same_output_folder_is_read_afresh(served, tmp_path: Path) -> None:  # noqa: ANN001
    """Fixing bad rows in the CSV and running the same command again predicts the corrected rows; it does
    not resume from the rows the first run converted."""
    served()
    frame = _input(tmp_path / "in.csv", 100, invalid=10)
    first = transform("churn@approved", tmp_path / "in.csv", tmp_path / "out", shard_rows=50, join=["id"])
    assert (first.rows, first.failures) == (90, 10)
    frame["a"] = 0.25
    frame.to_csv(tmp_path / "in.csv", index=False)
    again = transform("churn@approved", tmp_path / "in.csv", tmp_path / "out", shard_rows=50, join=["id"])
    parts, _ = _outputs(tmp_path / "out")
    assert (again.rows, again.failures, again.resumed_shards) == (100, 0, 0)
    assert sorted(parts["_row"]) == list(range(100))
    assert len(list((tmp_path / "out" / "_work").glob("input*.parquet"))) == 1
    # a shorter input (fewer shards) and another format leave no part of the earlier jobs behind
    frame.head(30).to_csv(tmp_path / "in.csv", index=False)
    shorter = transform("churn@approved", tmp_path / "in.csv", tmp_path / "out", shard_rows=50, fmt="csv")
    assert (shorter.rows, shorter.shards) == (30, 1)
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_file()) == [
        "failures-00000.jsonl", "part-00000.csv"]


def test_unapproved_model_is_refused(served, tmp_path: Path) -> None:  # noqa: ANN001
    served(approve=False)
    _input(tmp_path / "in.csv", 10)
    with pytest.raises(PermissionDenied, match="Approved"):
        transform("churn:1", tmp_path / "in.csv", tmp_path / "out")


@pytest.mark.timeout(900)  # a busy machine (CPU hogs at 2x the cores) stretches it several times
@pytest.mark.slow
def test_killed_job_resumes_without_redoing_finished_shards(served, tmp_path: Path, home: Path) -> None:  # noqa: ANN001
    served()
    _input(tmp_path / "in.csv", 20_000)
    script = ("from loopml.serve.transform import transform; "
              f"transform('churn@approved', {str(tmp_path / 'in.csv')!r}, {str(tmp_path / 'out')!r}, shard_rows=1000)")
    env = {**os.environ, "LOOPML_FAULTS": "transform_shard_start:kill@8"}
    proc = subprocess.run([sys.executable, "-c", script], env=env, cwd=Path(__file__).parents[2], timeout=120)
    assert proc.returncode != 0
    done_before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out").glob("part-*.parquet")}
    assert 0 < len(done_before) < 20
    result = transform("churn@approved", tmp_path / "in.csv", tmp_path / "out", shard_rows=1000)
    assert result.resumed_shards >= len(done_before) - 1 and result.rows == 20_000
    parts, _ = _outputs(tmp_path / "out")
    assert sorted(parts["_row"]) == list(range(20_000))
    kept = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out").glob("part-*.parquet") if p.name in done_before}
    assert sum(kept[n] == t for n, t in done_before.items()) >= result.resumed_shards


def test_probabilities_are_written_one_column_per_class(served, tmp_path: Path) -> None:  # noqa: ANN001
    from loopml import registry
    from loopml.models import load

    served()
    frame = _input(tmp_path / "in.csv", 300)
    transform("churn@approved", tmp_path / "in.csv", tmp_path / "out", shard_rows=100, probabilities=True, fmt="csv")
    parts = pd.concat([pd.read_csv(p) for p in sorted((tmp_path / "out").glob("part-*.csv"))]).sort_values("_row")
    assert [c for c in parts.columns if c.startswith("probability_")] == ["probability_0", "probability_1"]
    model = load(registry.fetch_model(registry.resolve("churn@approved"), tmp_path / "m"))
    expected = model.predict_proba(frame[["a", "b", "c"]].astype(float))
    assert np.allclose(parts[["probability_0", "probability_1"]].to_numpy(), expected)
    assert (parts["prediction"].to_numpy() == expected.argmax(axis=1)).all()
