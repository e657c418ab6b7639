from __future__ import annotations

import textwrap

import optuna
import pytest

from loopml.errors import ValidationError
from loopml.train import tracking
from loopml.train.tuning import Categorical, Float, Int, tune

CURVE = """
    import argparse, time
    from loopml.train import sdk
    p = argparse.ArgumentParser()
    p.add_argument("--x", type=float); p.add_argument("--kind", type=str)
    a, _ = p.parse_known_args()
    score = -(a.x - 2.0) ** 2 + (0.5 if a.kind == "good" else 0.0)
    for step in range(8):
        sdk.log_metric("score", score * (step + 1) / 8, step=step)
        sdk.flush()
        time.sleep(0.15)
"""


@pytest.fixture
def curve(home, tmp_path):
    path = tmp_path / "curve.py"
    path.write_text(textwrap.dedent(CURVE))
    return path


@pytest.mark.slow
def test_tuning_finds_the_best_trial_prunes_and_shares_its_study(curve):
    space = {"x": Float(0.0, 4.0), "kind": Categorical(("good", "bad"))}
    result = tune(space, objective="score", script=str(curve), max_trials=6, max_parallel=2, sampler="random",
                  pruner="median", seed=1)
    assert len(result.trials) == 6
    assert {r["status"] for r in result.trials} <= {"COMPLETED", "STOPPED"}
    assert any(r["pruned"] for r in result.trials)  # the median pruner stopped a weak trial early
    best = max((r for r in result.trials if r["status"] == "COMPLETED"), key=lambda r: r["value"])
    assert result.best_run_id == best["run_id"] and result.best_params == {"x": best["x"], "kind": best["kind"]}
    assert {r.id for r in tracking.list_runs(parent_id=result.run_id)} == {r["run_id"] for r in result.trials}
    from loopml.train.tuning import _storage

    study = optuna.load_study(study_name=result.study_name, storage=_storage())
    assert len(study.trials) == 6  # Optuna's storage is the metadata database

    warm = tune(space, objective="score", script=str(curve), max_trials=1, sampler="random",
                warm_start_from=result.run_id, seed=2)
    warm_study = optuna.load_study(study_name=warm.study_name, storage=_storage())
    assert len(warm_study.trials) == 1 + len([r for r in result.trials if r["status"] == "COMPLETED"])


def test_an_objective_no_trial_logs_is_a_clear_error_after_the_first_trial(home, tmp_path):
    script = tmp_path / "quiet.py"
    script.write_text("from loopml.train import sdk\nsdk.log_metric('loss', 0.5)\n")
    with pytest.raises(ValidationError, match="logged no metric 'auc' .*it logged: loss"):
        tune({"x": Int(1, 3)}, objective="auc", script=str(script), max_trials=5, pruner=None)
    assert len(tracking.list_runs(kind="training")) == 1


def test_grid_search_and_early_stop(home, tmp_path):
    script = tmp_path / "flat.py"
    script.write_text("from loopml.train import sdk\nsdk.log_metric('score', 1.0)\n")
    result = tune({"depth": Int(1, 6)}, objective="score", script=str(script), sampler="grid", max_trials=6,
                  early_stopping_trials=2, pruner=None)
    assert result.stopped_early and len(result.trials) == 3
    assert result.best_value == 1.0
