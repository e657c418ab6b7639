"""The churn loop's training pipeline: data → recipe → feature store → point-in-time training set →
training job (built-in XGBoost with checkpoints) → gate against the champion → register.

The same pipeline trains the first model and retrains after drift:

    loopml pipeline run examples/churn/pipeline.py:churn                      # first model
    loopml pipeline run examples/churn/pipeline.py:churn -p seed=1 -p drift=1  # after the market moved

``loopml demo`` runs it inside the whole loop (deploy, capture, monitors, alarm, retrain, rollout).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from loopml.pipelines import pipeline, step, when

GROUP = "churn"
FEATURE_GROUP = "customer_features"
RAW_FEATURES = ["tenure_months", "monthly_charges", "support_calls", "usage_hours"]
FEATURES = ["tenure_months", "monthly_charges", "support_calls", "usage_hours", "plan_basic", "plan_plus", "plan_pro"]
RECIPE = [
    {"op": "impute", "columns": ["tenure_months", "monthly_charges", "usage_hours"], "strategy": "median"},
    {"op": "log", "columns": ["monthly_charges"]},
    {"op": "onehot", "columns": ["plan"]},
]
RULES = ["roc_auc >= 0.65", "roc_auc >= champion.roc_auc + 0.0", "log_loss <= champion.log_loss"]


def _ref(version) -> dict:  # noqa: ANN001
    return {"name": version.name, "version": version.version, "sha256": version.sha256}


@step
def prepare(seed: int = 0, drift: float = 0.0, n_rows: int = 4000) -> dict:
    """Generate a batch of customers and register it (and its labels) in the data catalog."""
    from loopml.data import register_dataset
    from loopml.demo.churn_data import make_churn

    raw = make_churn(n_rows, seed=seed, drift=drift)
    customers = register_dataset("churn_customers", raw.drop(columns=["churned"]),
                                 description="customer attributes, one batch per (seed, drift)")
    labels = register_dataset("churn_labels", raw[["customer_id", "event_time", "churned", "gender"]],
                              description="churn outcome observed at event_time")
    return {"customers": _ref(customers), "labels": _ref(labels)}


@step
def build_features(data: dict) -> dict:
    """Fit the recipe on the batch, store it, and ingest the engineered features into the feature store."""
    from loopml import features
    from loopml.data import Recipe, load_dataset, save_recipe

    raw = load_dataset(data["customers"]["name"], data["customers"]["version"])
    recipe = Recipe(RECIPE).fit(raw)
    table = recipe.transform(raw)[["customer_id", "event_time", *FEATURES]]
    group = features.FeatureGroup(FEATURE_GROUP, entity_keys=["customer_id"], event_time="event_time",
                                  features=dict.fromkeys(FEATURES, "float64"),
                                  description="engineered customer features (recipe applied at ingest)")
    features.register_feature_group(group)
    features.ingest(FEATURE_GROUP, table.astype({f: "float64" for f in FEATURES}))
    return {**data, "recipe": save_recipe(recipe)}


@step
def training_set(data: dict, test_fraction: float = 0.3) -> pd.DataFrame:
    """Point-in-time join of the labels with the features; the newest rows are held out for the gate."""
    from loopml import features
    from loopml.data import load_dataset

    labels = load_dataset(data["labels"]["name"], data["labels"]["version"])
    joined = features.get_training_set(labels, [f"{FEATURE_GROUP}:{f}" for f in FEATURES])
    cut = joined["event_time"].quantile(1 - test_fraction)
    return joined.assign(split=(joined["event_time"] >= cut).map({True: "test", False: "train"}))


@step
def train(frame: pd.DataFrame, num_round: int = 60, max_depth: int = 4, eta: float = 0.2) -> dict:
    """A managed training job: the built-in XGBoost, interruptible, checkpointing every 10 rounds."""
    from loopml import train as training

    rows = frame[frame["split"] == "train"][[*FEATURES, "churned"]]
    run = training.run(algorithm="xgboost", channels={"train": rows}, experiment="churn", name="churn-xgboost",
                       hyperparameters={"target": "churned", "num_round": num_round, "max_depth": max_depth,
                                        "eta": eta, "checkpoint_every": 10},
                       interruptible=True, max_restarts=2, seed=0, stream=False, raise_on_failure=True)
    return {"run_id": run.id}


def _model(trained: dict):  # noqa: ANN202
    from loopml import models
    from loopml import train as training

    folder = Path(tempfile.mkdtemp(prefix="loopml-churn-")) / "model"
    return models.load(training.fetch_model(trained["run_id"], folder)), folder


@step
def gate(frame: pd.DataFrame, trained: dict) -> dict:
    """Score the challenger and the current champion on the same held-out rows; apply the rules."""
    from loopml.evaluate.records import gate_challenger

    model, _ = _model(trained)
    test = frame[frame["split"] == "test"].reset_index(drop=True)
    return gate_challenger(model, test[[*FEATURES, "churned", "gender"]], label="churned", group=GROUP, rules=RULES,
                           sensitive=("gender",), shap_sample=300, bootstrap=50)


@step
def register(data: dict, trained: dict, verdict: dict) -> dict:
    """Register the challenger as PendingManualApproval, with its lineage and evaluation report."""
    from loopml import registry

    _, folder = _model(trained)
    version = registry.register(
        folder, GROUP, description="XGBoost on customer_features", metrics=verdict["metrics"],
        evaluation_digest=verdict["report"],
        lineage={"datasets": [data["customers"], data["labels"]], "run_id": trained["run_id"],
                 "recipe": data["recipe"], "feature_group": FEATURE_GROUP})
    return {"model": version.name, "status": version.status}


@step
def keep_champion(verdict: dict) -> str:
    """The gate failed: nothing is registered, the champion keeps serving (a 'Challenger Rejected' event
    was emitted by the gate)."""
    failed = [r["rule"] for r in verdict["rules"] if not r["passed"]]
    return f"challenger rejected ({'; '.join(failed)}); {verdict['champion']} keeps serving"


@pipeline
def churn(seed: int = 0, drift: float = 0.0, n_rows: int = 4000, num_round: int = 60, max_depth: int = 4):
    data = build_features(prepare(seed=seed, drift=drift, n_rows=n_rows))
    frame = training_set(data)
    trained = train(frame, num_round=num_round, max_depth=max_depth)
    verdict = gate(frame, trained)
    passed = verdict["passed"].eq(True)
    with when(passed):
        register(data, trained, verdict)
    with when(~passed):
        keep_champion(verdict)
