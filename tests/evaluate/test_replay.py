"""Replaying captured traffic through a challenger: the gate's figures on exactly the replayed rows, payload
failures, agreement without labels, every accepted request shape, and a replay gate that refuses a challenger
better on its training split but worse on real traffic."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from loopml import registry
from loopml.evaluate import Gate, evaluate
from loopml.evaluate.replay import load_replay, replay, replay_challenger, replays
from loopml.serve import capture
from tests.monitor.capture_helpers import record, store

pytestmark = pytest.mark.timeout(600)
T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=30)


def _frame(n: int, seed: int, *, leak: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    signal = x.a + (3 * x.b if leak else 0) + rng.normal(size=n) * 0.3
    return x.assign(y=(signal > 0).astype(int))


def _models() -> tuple[str, str]:
    old = _frame(2000, 1, leak=False)
    champion = registry.register(LogisticRegression().fit(old[["a", "b"]], old.y), "churn")
    leaky = _frame(2000, 2, leak=True)  # the training split holds a relation real traffic does not
    challenger = registry.register(LogisticRegression().fit(leaky[["a", "b"]], leaky.y), "churn")
    return champion.name, challenger.name


def _traffic(frame: pd.DataFrame, tmp_path: Path, *, labels: bool = True) -> None:
    recs = [record(f"ev{i}", {"a": float(r.a), "b": float(r.b)}, int(r.y), T0 + timedelta(seconds=20 * i))
            for i, r in enumerate(frame.itertuples())]
    store("churn-ep", recs, tmp_path / "spool")
    if labels:
        truth = tmp_path / "truth.csv"
        truth.write_text("eventId,label\n" + "".join(f"ev{i},{int(y)}\n" for i, y in enumerate(frame.y)))
        capture.upload_ground_truth("churn-ep", truth)


def test_a_challenger_better_on_its_training_split_but_worse_on_replayed_traffic_is_refused(home, tmp_path):
    champion, challenger = _models()
    held_out = _frame(1000, 3, leak=True)
    on_split = evaluate(registry.load_model(registry.resolve(challenger)), held_out, label="y",
                        incumbent=registry.load_model(registry.resolve(champion)), shap_sample=0, bootstrap=50)
    assert Gate.from_rules(["roc_auc >= champion.roc_auc"]).evaluate(on_split).passed  # the offline gate passes

    _traffic(_frame(600, 4, leak=False), tmp_path)
    rules = ["replay.roc_auc >= replay.champion.roc_auc", "replay.failure_rate <= 0.01"]
    verdict = replay_challenger("churn-ep", challenger, champion=champion, rules=rules, window="7d")

    assert verdict["passed"] is False
    failed = [r for r in verdict["rules"] if not r["passed"]]
    assert [r["rule"] for r in failed] == ["replay.roc_auc >= replay.champion.roc_auc"]
    assert failed[0]["reason"].startswith("on replayed traffic:")
    assert verdict["summary"]["rows"] == verdict["summary"]["labelled_rows"] == 600
    stored = load_replay(verdict["report"])
    auc = next(d for d in stored["evaluation"]["comparison"]["deltas"] if d["metric"] == "roc_auc")
    assert auc["delta"] < 0 and auc["ci_high"] < 0  # worse, and the paired bootstrap says so
    assert stored["latency"]["challenger"]["p99_ms"] > 0
    for ref in (champion, challenger):  # linked from both versions
        group, _, number = ref.partition(":")
        assert replays(f"model:{group}/{number}")[0]["json"] == verdict["report"]
    assert replays("endpoint:churn-ep")[0]["passed"] is False


def test_without_labels_agreement_shift_and_failures_remain_and_label_rules_say_why(home, tmp_path):
    champion, challenger = _models()
    _traffic(_frame(300, 5, leak=False), tmp_path, labels=False)
    found = replay("churn-ep", challenger, champion=champion, window="7d",
                   rules=["replay.agreement >= 0.99", "replay.roc_auc >= 0.5"], save=False)
    assert found["evaluation"] is None and found["summary"]["labelled_rows"] == 0
    assert 0.3 < found["summary"]["agreement"] < 0.99 and found["summary"]["shift"] > 0.05
    outcomes = {r["rule"]: r for r in found["gate"]["rules"]}
    assert outcomes["replay.agreement >= 0.99"]["passed"] is False
    assert "no ground truth arrived" in outcomes["replay.roc_auc >= 0.5"]["reason"]


def _v2(rows: list[dict[str, float]]) -> str:
    return json.dumps({"inputs": [{"name": c, "shape": [len(rows)], "datatype": "FP64", "data": [r[c] for r in rows]}
                                  for c in ("a", "b")]})


def test_captured_requests_of_every_accepted_shape_replay_and_refused_payloads_are_counted(home, tmp_path):
    champion, _ = _models()
    wider = _frame(500, 6, leak=False).assign(c=1.0)
    challenger = registry.register(LogisticRegression().fit(wider[["a", "b", "c"]], wider.y), "churn").name
    rows = [{"a": 0.5, "b": -1.0}, {"a": -2.0, "b": 0.25}]
    bodies = [(json.dumps({"instances": rows}), "application/json"),
              (json.dumps({"dataframe_split": {"columns": ["a", "b"], "data": [[0.5, -1.0]]}}), "application/json"),
              (json.dumps([[0.1, 0.2]]), "application/json"),
              ("0.5,-1.0\n-2.0,0.25\n", "text/csv"),
              (_v2(rows), "application/json")]
    recs = []
    for i, (body, kind) in enumerate(bodies):
        rec = record(f"s{i}", {}, 0, T0 + timedelta(minutes=i))
        rec["captureData"]["endpointInput"].update(data=body, observedContentType=kind,
                                                   encoding="CSV" if kind == "text/csv" else "JSON")
        recs.append(rec)
    store("churn-ep", recs, tmp_path / "spool")

    same = replay("churn-ep", champion, champion=champion, window="7d", save=False)
    assert same["summary"]["rows"] == 8 and same["summary"]["failures"] == 0 and same["summary"]["agreement"] == 1.0

    refused = replay("churn-ep", challenger, champion=champion, window="7d", save=False)
    assert refused["summary"]["failures"] == 5 and refused["summary"]["failure_rate"] == 1.0
    assert "missing column" in refused["failures"]["challenger"][0]["error"]


def test_a_window_with_no_capture_is_refused_with_what_to_do(home):
    champion, challenger = _models()
    with pytest.raises(Exception, match="captured no request"):
        replay("churn-ep", challenger, champion=champion, window="1h")
    with pytest.raises(Exception, match="7d, 24h"):
        replay("churn-ep", challenger, champion=champion, window="a week")
