"""Declared parameter constraints of training jobs and tuning: a value outside them is refused with
scikit-learn's message (the parameter, the function, the allowed range or set, the value) before a run is
recorded or a process starts."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loopml import train
from loopml.errors import InvalidParameter
from loopml.train import jobs, tuning

ROOT = Path(__file__).resolve().parents[2]

RUN_CASES = [
    ("max_runtime", 0, "a float in the range (0, 316224000] or None"),
    ("max_wait", -5.0, "a float in the range (0, 316224000] or None"),
    ("max_restarts", -1, "an int in the range [0, 1000]"),
    ("max_restarts", 1.5, "an int in the range [0, 1000]"),
    ("stop_grace", 7200, "a float in the range [0, 3600]"),
    ("seed", -1, "an int in the range [0, 4294967295] or None"),
    ("seed", "42", "an int in the range [0, 4294967295] or None"),
    ("interruptible", "yes", "an instance of 'bool'"),
    ("hyperparameters", [("eta", 0.1)], "an instance of 'dict' or None"),
]


@pytest.mark.parametrize(("param", "value", "allowed"), RUN_CASES, ids=[f"{c[0]}={c[1]!r}" for c in RUN_CASES])
def test_a_training_job_refuses_a_value_outside_its_constraint(home: Path, param: str, value: object,
                                                              allowed: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        train.run(algorithm="xgboost", channels={"train": "nosuch"}, **{param: value})  # type: ignore[arg-type]
    assert str(caught.value) == f"The {param!r} parameter of run must be {allowed}. Got {value!r} instead."
    assert train.list_runs() == []  # nothing was recorded


TUNE_CASES = [
    ("max_trials", 0, "an int in the range [1, 100000]"),
    ("max_parallel", 65, "an int in the range [1, 64]"),
    ("early_stopping_trials", 0, "an int in the range [1, 100000] or None"),
    ("direction", "up", "a str among {'maximize', 'minimize'}"),
    ("sampler", "cmaes", "a str among {'tpe', 'random', 'grid'}"),
    ("pruner", "percentile", "a str among {'median', 'hyperband', 'none'} or None"),
    ("seed", 2**32, "an int in the range [0, 4294967295] or None"),
]


@pytest.mark.parametrize(("param", "value", "allowed"), TUNE_CASES, ids=[c[0] for c in TUNE_CASES])
def test_tuning_refuses_a_value_outside_its_constraint(home: Path, param: str, value: object, allowed: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        tuning.tune({"max_depth": tuning.Int(2, 4)}, objective="validation:auc", algorithm="xgboost",
                    channels={"train": "nosuch"}, **{param: value})  # type: ignore[arg-type]
    assert str(caught.value) == f"The {param!r} parameter of tune must be {allowed}. Got {value!r} instead."
    assert train.list_runs() == []


def test_the_declarations_name_only_real_parameters() -> None:
    for func in (jobs.run, tuning.tune):
        assert set(func.__loopml_constraints__) <= set(inspect.signature(func).parameters), func.__name__


@pytest.mark.parametrize(("command", "line"), [
    (["train", "run", "--algorithm", "xgboost", "--train", "nosuch", "--max-restarts", "-1"],
     "The 'max_restarts' parameter of run must be an int in the range [0, 1000]. Got -1 instead."),
    (["tune", "run", "--algorithm", "xgboost", "--train", "nosuch", "--space", "max_depth=int:2:4",
      "--objective", "validation:auc", "--max-trials", "0"],
     "The 'max_trials' parameter of tune must be an int in the range [1, 100000]. Got 0 instead."),
], ids=["train-run", "tune-run"])
def test_the_cli_says_it_in_one_line_and_exits_2(tmp_path: Path, command: list[str], line: str) -> None:
    env = {**os.environ, "LOOPML_HOME": str(tmp_path / "home"), "LOOPML_USER": "alice",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    out = subprocess.run([sys.executable, "-m", "loopml.cli.main", *command], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and line in lines[0], out.stderr
