"""Run the monitor contract over every row of the monitor-kind table (monitor.kinds.MONITORS): data quality,
model quality, bias drift, attribution drift. Each case calls the check its row names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loopml.monitor.kinds import MONITORS, monitor_check
from loopml.monitor.schedules import MONITOR_TYPES
from loopml.testing.monitor_contract import CONTRACT, MonitorCase


def _frame(n: int, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"age": rng.normal(40 + shift, 5, n), "income": rng.normal(50 + shift, 5, n)})


def _data_quality() -> MonitorCase:
    from loopml.monitor.statistics import baseline

    check_data_quality = monitor_check("data_quality")
    stats, cons = baseline(_frame(2000, seed=1))
    return MonitorCase("data_quality", lambda: check_data_quality(_frame(500, seed=2), stats, cons),
                       lambda: check_data_quality(_frame(500, shift=20, seed=3), stats, cons),
                       lambda: check_data_quality(_frame(5, seed=4), stats, cons))


def _model_quality() -> MonitorCase:
    check_model_quality = monitor_check("model_quality")
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, 400)
    truth = pd.DataFrame({"eventId": [f"e{i}" for i in range(400)], "label": labels})

    def run(predicted: np.ndarray, rows: int = 400) -> object:
        predictions = pd.DataFrame({"eventId": truth["eventId"][:rows], "prediction": predicted[:rows]})
        return check_model_quality(predictions, truth[:rows], baseline_metrics={"accuracy": 0.95},
                                   thresholds={"accuracy": 0.1}, min_rows=30)

    good = np.where(rng.random(400) < 0.97, labels, 1 - labels)
    return MonitorCase("model_quality", lambda: run(good), lambda: run(1 - labels), lambda: run(good, rows=10))


def _attribution_drift() -> MonitorCase:
    check_attribution_drift = monitor_check("attribution_drift")
    base = {"age": 0.5, "income": 0.3, "city": 0.15, "member": 0.05}
    return MonitorCase("attribution_drift", lambda: check_attribution_drift(base, dict(base)),
                       lambda: check_attribution_drift(base, {"age": 0.01, "income": 0.02, "city": 0.3,
                                                              "member": 0.6}),
                       lambda: check_attribution_drift(base, {}))


def _bias_drift() -> MonitorCase:
    check_bias_drift = monitor_check("bias_drift")
    rng = np.random.default_rng(6)

    def run(rows: int, unfair: bool) -> object:
        group = np.where(rng.random(rows) < 0.5, "f", "m")
        label = rng.integers(0, 2, rows)
        # unfair: the model never predicts the favorable outcome for facet "f"
        prediction = np.where(unfair & (group == "f"), 0, label)
        window = pd.DataFrame({"sex": group, "label": label, "prediction": prediction})
        return check_bias_drift(window, "sex", facet_values=["f"], bounds={"DPPL": [-0.15, 0.15]}, min_rows=30)

    return MonitorCase("bias_drift", lambda: run(400, False), lambda: run(400, True), lambda: run(10, False))


CASES = {"data_quality": _data_quality, "model_quality": _model_quality, "bias_drift": _bias_drift,
         "attribution_drift": _attribution_drift}


@pytest.mark.parametrize("check", CONTRACT, ids=lambda c: c.__name__)
@pytest.mark.parametrize("kind", sorted(CASES))
def test_monitor_contract(kind: str, check) -> None:  # noqa: ANN001
    check(CASES[kind]())


def test_every_monitor_kind_is_covered() -> None:
    assert set(CASES) == set(MONITORS), "add a case for the new monitor kind"


def test_schedules_and_the_scheduler_take_every_row() -> None:
    from loopml.monitor._checks_service import RUNS

    assert MONITOR_TYPES == tuple(MONITORS)
    assert set(RUNS) == set(MONITORS), "give the scheduler a run for the new monitor kind (_checks_service.RUNS)"
