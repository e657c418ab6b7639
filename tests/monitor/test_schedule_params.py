"""Declared parameter constraints of monitoring and pipeline schedules: a value outside them is refused with
scikit-learn's message (the parameter, the function, the allowed range or set, the value) before the
endpoint is looked up or anything is stored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from loopml import monitor
from loopml.errors import InvalidParameter

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = "tests.monitor.retrain_pipeline:retrain"

MONITORING_CASES = [
    ("monitor_type", "vibes",
     "a str among {'data_quality', 'model_quality', 'bias_drift', 'attribution_drift'}"),
    ("window_seconds", 0, "a float in the range (0, 316224000]"),
    ("window_seconds", float("inf"), "a float in the range (0, 316224000]"),
    ("interval_seconds", 0.5, "a float in the range [1, 316224000] or None"),
    ("cron", 5, "an instance of 'str' or None"),
    ("thresholds", [0.1], "an instance of 'dict' or None"),
    ("settings", "min_rows=5", "an instance of 'dict' or None"),
    ("check_signature", "no", "an instance of 'bool'"),
]


@pytest.mark.parametrize(("param", "value", "allowed"), MONITORING_CASES,
                         ids=[f"{c[0]}={c[1]!r}" for c in MONITORING_CASES])
def test_a_monitoring_schedule_refuses_a_value_outside_its_constraint(home: Path, param: str, value: object,
                                                                      allowed: str) -> None:
    kwargs = {"interval_seconds": 60, param: value}
    with pytest.raises(InvalidParameter) as caught:  # before the (missing) endpoint is looked up
        monitor.create_monitoring_schedule("m", "no-such-endpoint", **kwargs)  # type: ignore[arg-type]
    assert str(caught.value) == (f"The {param!r} parameter of create_monitoring_schedule must be {allowed}. "
                                 f"Got {value!r} instead.")
    assert monitor.list_schedules() == []


@pytest.mark.parametrize(("param", "value", "allowed"), [
    ("interval_seconds", -60, "a float in the range [1, 316224000] or None"),
    ("params", ["epochs", 3], "an instance of 'dict' or None"),
])
def test_a_pipeline_schedule_refuses_a_value_outside_its_constraint(home: Path, param: str, value: object,
                                                                    allowed: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        monitor.create_pipeline_schedule("p", PIPELINE, **{param: value})  # type: ignore[arg-type]
    assert str(caught.value) == (f"The {param!r} parameter of create_pipeline_schedule must be {allowed}. "
                                 f"Got {value!r} instead.")
    assert monitor.list_schedules() == []


def test_the_cli_says_it_in_one_line_and_exits_2(tmp_path: Path) -> None:
    env = {**os.environ, "LOOPML_HOME": str(tmp_path / "home"), "LOOPML_USER": "alice",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    out = subprocess.run([sys.executable, "-m", "loopml.cli.main", "monitor", "schedule", "m", "--endpoint", "ep",
                          "--type", "vibes", "--every", "60"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "The 'monitor_type' parameter of create_monitoring_schedule must be a str among " \
                                "{'data_quality', 'model_quality', 'bias_drift', 'attribution_drift'}. " \
                                "Got 'vibes' instead." in lines[0], out.stderr


@pytest.mark.parametrize(("call", "param", "value", "allowed"), [
    ("list_alarms", "state", "Alarm", "a str among {'OK', 'ALARM', 'INSUFFICIENT_DATA'} or None"),
    ("alarm_history", "limit", 0, "an int in the range [1, 1000000]"),
    ("alarm_history", "limit", -1, "an int in the range [1, 1000000]"),
], ids=["list_alarms-state", "alarm_history-limit-0", "alarm_history-limit-neg"])
def test_reading_alarms_refuses_a_value_outside_its_constraint(home: Path, call: str, param: str, value: object,
                                                               allowed: str) -> None:
    args = ("p99",) if call == "alarm_history" else ()
    with pytest.raises(InvalidParameter) as caught:  # an unknown state once matched nothing, silently
        getattr(monitor, call)(*args, **{param: value})
    assert str(caught.value) == f"The {param!r} parameter of {call} must be {allowed}. Got {value!r} instead."
