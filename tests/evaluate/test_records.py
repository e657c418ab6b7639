"""The gate against the registry's champion, and reports stored as artifacts (issue 6 wiring)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from loopml import registry
from loopml.core import audit, context, identity
from loopml.evaluate.records import gate_challenger, load_report, report_for, report_html

RULES = ["roc_auc >= 0.6", "roc_auc >= champion.roc_auc - 0.0"]


def _data(seed: int, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "noise": rng.normal(size=n)})
    frame["y"] = ((frame["a"] + 0.5 * frame["b"] + rng.normal(scale=0.5, size=n)) > 0).astype(int)
    return frame


@pytest.fixture
def governed(home):  # noqa: ANN001, ANN201
    with context.get_db().write() as conn:
        identity.grant(conn, "root", "admin", actor="root")
        identity.grant(conn, "bob", "approver", actor="root")
    return home


def test_a_better_challenger_passes_and_a_worse_one_is_stopped(governed) -> None:
    train, test = _data(0), _data(1)
    weak = LogisticRegression().fit(train[["noise", "b"]].assign(a=0.0)[["a", "b", "noise"]], train["y"])
    strong = LogisticRegression().fit(train[["a", "b", "noise"]], train["y"])
    first = gate_challenger(weak, test, label="y", group="churn", rules=["roc_auc >= 0.5"])
    assert first["passed"] and first["champion"] is None
    registry.register(weak, "churn", evaluation_digest=first["report"], metrics=first["metrics"])
    registry.approve("churn", 1, actor="bob")

    better = gate_challenger(strong, test, label="y", group="churn", rules=RULES)
    assert better["passed"] and better["champion"] == "churn:1"
    assert all(r["passed"] for r in better["rules"])

    worse = gate_challenger(weak, test, label="y", group="churn", rules=["roc_auc >= champion.roc_auc + 0.05"])
    assert not worse["passed"]
    assert "champion.roc_auc" in worse["rules"][0]["rule"] and worse["rules"][0]["reason"]
    with context.get_db().read() as conn:
        failed = audit.events(conn, action="gate.failed")
    assert len(failed) == 1 and failed[0].details["champion"] == "churn:1"
    assert [v.version for v in registry.list_versions("churn")] == [1]  # nothing was registered


def test_reports_are_stored_attached_and_rendered(governed, tmp_path) -> None:
    train = _data(0)
    model = LogisticRegression().fit(train[["a", "b", "noise"]], train["y"])
    verdict = gate_challenger(model, _data(2), label="y", group="churn", rules=["roc_auc >= 0.5"])
    report = load_report(verdict["report"])
    assert report["gate"]["passed"] is True and report["metrics"]["roc_auc"] > 0.7
    registry.register(model, "churn", evaluation_digest=verdict["report"])
    assert report_for("churn:1")["n_rows"] == 600
    assert report_html("churn:1").lstrip().lower().startswith("<!doctype html")
    assert registry.card("churn", 1)["evaluation"]["metrics"]["roc_auc"] == report["metrics"]["roc_auc"]
    out = subprocess.run([sys.executable, "-m", "loopml.cli.main", "evaluate", "show", "churn:1", "-f", "html",
                          "-o", str(tmp_path / "r.html")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "<svg" in (tmp_path / "r.html").read_text()
    shown = subprocess.run([sys.executable, "-m", "loopml.cli.main", "evaluate", "show", verdict["report"]],
                           capture_output=True, text=True, check=True)
    assert json.loads(shown.stdout)["gate"]["rules"][0]["rule"] == "roc_auc >= 0.5"
