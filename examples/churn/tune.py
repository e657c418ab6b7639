"""The tuned variant of the churn model: Optuna TPE with median pruning over the built-in XGBoost, trials as
concurrent training jobs sharing one study, the best trial registered for review.

Run it with:  python examples/churn/tune.py   (set LOOPML_HOME to keep it apart from other work)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pipeline as churn  # noqa: E402  (the constants of the churn pipeline)

from loopml import registry, train  # noqa: E402
from loopml.demo.churn_data import make_churn  # noqa: E402
from loopml.train.tuning import Float, Int  # noqa: E402


def main(trials: int = 8) -> None:
    from loopml.data import Recipe

    raw = make_churn(4000, seed=0)
    frame = Recipe(churn.RECIPE).fit(raw).transform(raw)[[*churn.FEATURES, "churned"]]
    cut = int(len(frame) * 0.75)
    result = train.tune(
        {"max_depth": Int(2, 6), "eta": Float(0.03, 0.3, log=True), "num_round": Int(20, 80, step=20)},
        objective="validation:auc", algorithm="xgboost",
        channels={"train": frame.iloc[:cut], "validation": frame.iloc[cut:]},
        hyperparameters={"target": "churned", "checkpoint_every": 10}, experiment="churn-tuning",
        max_trials=trials, max_parallel=2, pruner="median", early_stopping_trials=4)
    print(f"best {result.best_params} validation AUC {result.best_value:.3f} (run {result.best_run_id})")
    folder = train.fetch_model(result.best_run_id, Path(tempfile.mkdtemp()) / "model")
    version = registry.register(folder, "churn-tuned", metrics={"validation:auc": result.best_value},
                                lineage={"run_id": result.best_run_id}, description="best of an Optuna study")
    print(f"registered {version.name} ({version.status})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8)
