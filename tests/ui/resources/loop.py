"""A small but real loop for the UI tests: catalog data, a feature group, a tracked training run with metric
series, the gate against the champion (an evaluation report with slices and bias), and registration.

It does what ``examples/churn`` does in a few seconds (an in-process SGD classifier instead of a training job).
"""

from __future__ import annotations

import pandas as pd

from loopml.pipelines import pipeline, step, when

GROUP = "churn"
FEATURES = ["tenure_months", "monthly_charges", "support_calls", "usage_hours"]
RULES = ["roc_auc >= 0.6", "roc_auc >= champion.roc_auc - 0.05"]


@step
def prepare(seed: int = 0, drift: float = 0.0, n_rows: int = 900) -> dict:
    """Generate customers and register them in the catalog."""
    from loopml.data import register_dataset
    from loopml.demo.churn_data import make_churn

    version = register_dataset("customers", make_churn(n_rows, seed=seed, drift=drift), description="synthetic")
    return {"name": version.name, "version": version.version, "sha256": version.sha256}


@step
def build_features(customers: dict) -> pd.DataFrame:
    """Ingest the features into the feature store; the newest third of rows is held out for the gate."""
    from loopml import features
    from loopml.data import load_dataset

    raw = load_dataset(customers["name"], customers["version"])
    group = features.FeatureGroup("customer_features", entity_keys=["customer_id"], event_time="event_time",
                                  features=dict.fromkeys(FEATURES, "float64"), description="customer figures")
    features.register_feature_group(group)
    features.ingest("customer_features", raw[["customer_id", "event_time", *FEATURES]].astype(
        dict.fromkeys(FEATURES, "float64")))
    cut = raw["event_time"].quantile(0.67)
    return raw.assign(split=(raw["event_time"] >= cut).map({True: "test", False: "train"}))


@step
def train(frame: pd.DataFrame, epochs: int = 8, alpha: float = 0.001) -> object:
    """Fit an SGD logistic regression epoch by epoch, tracking loss and validation AUC as a run."""
    import numpy as np
    from sklearn.linear_model import SGDClassifier
    from sklearn.metrics import log_loss, roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from loopml import train as tracking
    from loopml.pipelines._task import current_step

    fit, test = frame[frame["split"] == "train"], frame[frame["split"] == "test"]
    scaler = StandardScaler().fit(fit[FEATURES])
    model = SGDClassifier(loss="log_loss", alpha=alpha, class_weight={0: 1.0, 1: 3.0}, random_state=0)
    execution = (current_step() or ("", ""))[0]
    with tracking.start_run("churn", kind="training", name=f"sgd-alpha-{alpha:g}", params={"alpha": alpha, "epochs": epochs},
                            tags={"execution": execution}) as run:
        for epoch in range(epochs):
            model.partial_fit(scaler.transform(fit[FEATURES]), fit["churned"], classes=np.array([0, 1]))
            seen = model.predict_proba(scaler.transform(fit[FEATURES]))[:, 1]
            held = model.predict_proba(scaler.transform(test[FEATURES]))[:, 1]
            tracking.log_metrics(run.id, {"train:loss": log_loss(fit["churned"], seen),
                                          "validation:loss": log_loss(test["churned"], held),
                                          "validation:auc": roc_auc_score(test["churned"], held)}, step=epoch)
    return make_pipeline(scaler, model)


class OnFeatures:
    """The model seen through its features: evaluation hands it the slice and bias columns too."""

    def __init__(self, model: object) -> None:
        self.model = getattr(model, "model", model)
        self.classes_ = self.model.classes_
        self.feature_names_in_ = FEATURES

    def predict(self, frame: pd.DataFrame) -> object:
        return self.model.predict(frame[FEATURES])

    def predict_proba(self, frame: pd.DataFrame) -> object:
        return self.model.predict_proba(frame[FEATURES])


@step
def gate(frame: pd.DataFrame, model: object) -> dict:
    """Score the challenger and the champion on the same held-out rows and apply the rules."""
    from loopml.evaluate.records import gate_challenger

    test = frame[frame["split"] == "test"].reset_index(drop=True)
    return gate_challenger(OnFeatures(model), test[[*FEATURES, "churned", "gender", "plan"]], label="churned", group=GROUP,
                           rules=RULES, slices=("plan",), sensitive=("gender",), shap_sample=30, bootstrap=10)


@step
def register(customers: dict, frame: pd.DataFrame, model: object, verdict: dict) -> dict:
    """Register the challenger with its report and lineage (the run found by the execution tag)."""
    from loopml import registry
    from loopml import train as tracking
    from loopml.pipelines._task import current_step

    execution = (current_step() or ("", ""))[0]
    runs = tracking.search_runs(f"tags.execution = '{execution}'", limit=1)
    version = registry.register(getattr(model, "model", model), GROUP, description="SGD logistic regression",
                                signature=frame[FEATURES].head(20), metrics=verdict["metrics"],
                                evaluation_digest=verdict["report"],
                                lineage={"datasets": [customers], "run_id": runs[0].id if runs else None})
    return {"model": version.name, "status": version.status}


@step
def keep_champion(verdict: dict) -> str:
    """The gate failed: the champion stays."""
    return f"challenger rejected; {verdict['champion']} stays"


@pipeline
def churn_small(seed: int = 0, drift: float = 0.0, alpha: float = 0.001):
    customers = prepare(seed=seed, drift=drift)
    frame = build_features(customers)
    model = train(frame, alpha=alpha)
    verdict = gate(frame, model)
    passed = verdict["passed"].eq(True)
    with when(passed):
        register(customers, frame, model, verdict)
    with when(~passed):
        keep_champion(verdict)
