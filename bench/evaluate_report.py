"""Time a full evaluation report on a 100,000-row test set.

5 slice columns, 2 sensitive columns, SHAP on 2,000 rows, 200 paired-bootstrap replicates, for an
XGBoost challenger (incumbent: logistic regression) and a logistic-regression challenger (incumbent:
XGBoost). Prints one JSON line: seconds for evaluate(), render_html() and to_json(), the SHAP part
measured alone, and the report sizes.
Run: .venv/bin/python bench/evaluate_report.py
"""

from __future__ import annotations

import json
import platform
import time

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from xgboost import XGBClassifier

from loopml.evaluate import Gate, evaluate, render_html
from loopml.evaluate.explain import explain

ROWS = 100_000
FEATURES = [f"x{i}" for i in range(10)]
SLICES = ["region", "channel", "age", "income", "device"]
SENSITIVE = ["sex", "age_band"]
RULES = ["auc >= 0.75", "auc >= champion.auc - 0.0", "max_slice_drop <= 0.02", "abs(DPPL) <= 0.1"]


def _frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, len(FEATURES))), columns=FEATURES)
    frame["age"] = rng.integers(18, 90, rows)
    frame["income"] = rng.lognormal(10, 1, rows)
    frame["region"] = rng.choice(["north", "south", "east", "west"], rows)
    frame["channel"] = rng.choice(["web", "app", "store"], rows)
    frame["device"] = rng.choice(["ios", "android", "desktop"], rows)
    frame["sex"] = rng.choice(["F", "M"], rows)
    frame["age_band"] = pd.cut(frame.age, [0, 30, 50, 120], labels=["young", "mid", "old"]).astype(str)
    logit = frame.x0 + 0.8 * frame.x1 - 0.5 * frame.x2 * frame.x3 + 0.3 * (frame.sex == "F")
    frame["y"] = (logit + rng.normal(size=rows) > 0).astype(int)
    return frame


def _timed(fn, *args, **kwargs):  # noqa: ANN001, ANN202
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, round(time.perf_counter() - t0, 3)


def _run(model, incumbent, test: pd.DataFrame) -> dict:  # noqa: ANN001
    report, t_eval = _timed(evaluate, model, test, label="y", incumbent=incumbent, slices=SLICES,
                            sensitive=SENSITIVE, shap_sample=2000, bootstrap=200, seed=0)
    gate, t_gate = _timed(Gate.from_rules(RULES).evaluate, report)
    page, t_html = _timed(render_html, report, gate=gate)
    text, t_json = _timed(report.to_json)
    _, t_shap = _timed(explain, model, test[FEATURES], sample=2000, class_index=1)
    return {"evaluate_s": t_eval, "shap_2000_rows_s": t_shap, "gate_s": t_gate, "render_html_s": t_html,
            "to_json_s": t_json, "html_kb": round(len(page) / 1024), "json_kb": round(len(text) / 1024),
            "slices": len(report.slices), "facets": len(report.bias), "explainer": report.explanation.explainer,
            "auc": round(report.metrics["roc_auc"], 4), "gate_passed": gate.passed}


def main() -> None:
    train, test = _frame(50_000, 1), _frame(ROWS, 2)
    xgb = XGBClassifier(n_estimators=200, max_depth=6, n_jobs=2).fit(train[FEATURES], train.y)
    logreg = LogisticRegression(max_iter=500).fit(train[FEATURES], train.y)
    result = {
        "bench": "evaluate_report", "rows": ROWS, "slice_columns": len(SLICES), "sensitive_columns": len(SENSITIVE),
        "shap_rows": 2000, "bootstrap": 200, "python": platform.python_version(),
        "xgboost": _run(xgb, logreg, test), "logistic_regression": _run(logreg, xgb, test),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
