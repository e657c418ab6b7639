"""Declared parameter constraints of endpoint creation and deployment: a value outside them is refused
with scikit-learn's message (the parameter, the function, the allowed range or set, the value) before
anything is looked up, stored or started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from loopml import serve
from loopml.errors import InvalidParameter, ValidationError

ROOT = Path(__file__).resolve().parents[2]

CREATE_CASES = [
    ("max_queue", -5, "an int in the range [0, 1000000]"),
    ("max_concurrency", 0, "an int in the range [1, 10000]"),
    ("target_in_flight", -1, "a float in the range [0.01, 10000]"),
    ("idle_seconds", -10, "a float in the range [0.1, 316224000]"),
    ("capture_percent", 150.0, "a float in the range [0, 100]"),
    ("max_attempts", 0, "an int in the range [1, 1000]"),
    ("min_replicas", -1, "an int in the range [0, inf)"),
    ("mode", "batch", "a str among {'realtime', 'serverless', 'async'}"),
    ("port", 70_000, "an int in the range [0, 65535]"),
    ("max_body", 1.5, "an int in the range [1, 1099511627776]"),
    ("serverless_concurrency", float("nan"), "an int in the range [1, 10000]"),
]


@pytest.mark.parametrize(("param", "value", "allowed"), CREATE_CASES, ids=[c[0] for c in CREATE_CASES])
def test_create_refuses_a_value_outside_its_constraint(home: Path, param: str, value: object, allowed: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        serve.create("ep", "churn@approved", **{param: value}, start=False)  # type: ignore[arg-type]
    assert str(caught.value) == f"The {param!r} parameter of create must be {allowed}. Got {value!r} instead."
    assert (caught.value.parameter, caught.value.allowed) == (param, allowed)
    assert serve.list_endpoints() == []  # nothing was stored


def test_create_names_the_rule_of_a_bad_name(home: Path) -> None:
    with pytest.raises(ValidationError, match=r"endpoint name 'Bad_Name' is not allowed: use 1-63 lowercase"):
        serve.create("Bad_Name", "churn@approved", start=False)


def test_create_refuses_more_replicas_at_least_than_at_most(home: Path) -> None:
    with pytest.raises(ValidationError, match="replicas min=3 max=2 are not valid; need min <= max"):
        serve.create("ep", "churn@approved", min_replicas=3, max_replicas=2, start=False)


UPDATE_CASES = [
    ("canary_percent", 150, "a float in the range [0, 100]"),
    ("bake_seconds", -3, "a float in the range [0, 86400]"),
    ("step_percent", 0, "a float in the range [0.01, 100]"),
    ("max_error_rate", 1.5, "a float in the range [0, 1]"),
    ("max_p99_ms", -1, "a float in the range [0.001, 3600000] or None"),
    ("min_requests", -1, "an int in the range [0, 10000000]"),
    ("strategy", "big_bang", "a str among {'all_at_once', 'canary', 'linear'}"),
]


@pytest.mark.parametrize(("param", "value", "allowed"), UPDATE_CASES, ids=[c[0] for c in UPDATE_CASES])
def test_a_deployment_refuses_a_value_outside_its_constraint(home: Path, param: str, value: object,
                                                            allowed: str) -> None:
    with pytest.raises(InvalidParameter) as caught:  # checked before the endpoint is even looked up
        serve.update("ep", "churn@approved", **{"strategy": "canary", param: value})  # type: ignore[arg-type]
    assert str(caught.value) == f"The {param!r} parameter of update must be {allowed}. Got {value!r} instead."


def test_every_parameter_of_create_and_update_is_declared() -> None:
    import inspect

    from loopml.serve import endpoints

    for func in (endpoints.create, endpoints.update):
        declared = set(func.__loopml_constraints__) | {"name"}  # names: loopml.core.names, the one rule
        assert declared == set(inspect.signature(func).parameters), func.__name__


def test_the_cli_says_it_in_one_line_and_exits_2(tmp_path: Path) -> None:
    env = {**os.environ, "LOOPML_HOME": str(tmp_path / "home"), "LOOPML_USER": "alice",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    out = subprocess.run([sys.executable, "-m", "loopml.cli.main", "endpoint", "create", "ep", "--model",
                          "churn@approved", "--max-concurrency", "0"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "The 'max_concurrency' parameter of create must be an int in the range [1, 10000]. " \
                                "Got 0 instead." in lines[0], out.stderr


def test_a_rule_refuses_a_cooldown_outside_its_constraint(home: Path) -> None:
    from loopml import events

    for bad in (-1, float("nan")):
        with pytest.raises(InvalidParameter, match=r"The 'cooldown_seconds' parameter of put_rule must be a float in "
                                                   r"the range \[0, 316224000\]\. Got (-1|nan) instead\."):
            events.put_rule("r", {"source": ["loopml.monitor"]}, [{"type": "log"}], cooldown_seconds=bad)
    assert events.list_rules() == []


@pytest.mark.parametrize(("param", "value", "allowed"), [
    ("evaluation_periods", 0, "an int in the range [1, 10000]"),
    ("period_seconds", 0, "a float in the range (0, 316224000]"),
    ("statistic", "Median", "a str among {'Maximum', 'Minimum', 'Average', 'Sum', 'SampleCount'}"),
    ("treat_missing_data", "drop", "a str among {'missing', 'ignore', 'breaching', 'notBreaching'}"),
])
def test_an_alarm_refuses_a_value_outside_its_constraint(home: Path, param: str, value: object, allowed: str) -> None:
    from loopml import monitor

    with pytest.raises(InvalidParameter) as caught:
        monitor.put_alarm("a", source="endpoint:churn", metric="p99", threshold=1.0, **{param: value})
    assert str(caught.value) == f"The {param!r} parameter of put_alarm must be {allowed}. Got {value!r} instead."


def test_the_endpoint_configuration_is_typed_documented_and_stored_as_before(home: Path) -> None:
    from loopml.serve.endpoint_config import EndpointConfig

    old = {"variants": [{"name": "churn-v1", "model": "churn:1", "group": "churn", "version": 1,
                         "digest": "sha256:" + "0" * 64, "weight": 100.0, "shadow": False}], "targets": [],
           "memory_budget": 512 * 2**20, "port": 0, "scaling": {"min": 1, "max": 2, "target_in_flight": 4.0},
           "server": {"max_concurrency": 4, "max_queue": 16, "max_body": 6 * 2**20},
           "serverless": {"idle_seconds": 60.0, "max_concurrency": 10}, "async": {"max_attempts": 3, "webhook": None},
           "capture": {"percent": 0.0}, "feature_group": None, "placement": "local",
           "replica_resources": {"cpus": 0}}
    config = EndpointConfig.from_record(old)
    assert config.scaling.max == 2 and config.async_.max_attempts == 3 and config.variants[0].digest.startswith("sha256:")
    assert config.to_record() == old  # the stored form is unchanged
    assert EndpointConfig.from_record({"scaling": {"min": 0, "max": 1}}).server.max_queue == 16  # older records
    with pytest.raises(Exception, match="frozen"):
        config.port = 1  # type: ignore[misc]
    undocumented = [f"{model.__name__}.{name}" for model in (EndpointConfig, *{type(getattr(config, n)) for n in (
        "scaling", "server", "serverless", "async_", "capture")}, type(config.variants[0]))
        for name, field in model.model_fields.items() if not field.description]
    assert undocumented == []


def test_the_endpoint_process_reads_the_typed_configuration(home: Path) -> None:
    import re
    from datetime import UTC, datetime

    from loopml.serve import _records, endpoint_config

    now = datetime.now(UTC)
    stored = {"scaling": {"min": 2, "max": 5, "target_in_flight": 3.0}, "async": {"max_attempts": 7},
              "placement": "cluster"}  # an older record: sections and fields missing take their defaults
    e = _records.Endpoint("ep", "async", stored, "InService", "Creating", {}, {}, "alice", now, "alice", now)
    typed = e.typed_config
    assert isinstance(typed, endpoint_config.EndpointConfig)
    assert (typed.scaling.min, typed.scaling.max, typed.scaling.target_in_flight) == (2, 5, 3.0)
    assert (typed.async_.max_attempts, typed.async_.webhook, typed.serverless.idle_seconds) == (7, None, 60.0)
    assert (typed.placement, typed.port, typed.server.max_concurrency) == ("cluster", 0, 4)
    # the controller and the async worker read fields, never nested dict lookups like config["scaling"]["min"]
    for module in ("controller.py", "_async_worker.py"):
        source = (ROOT / "src" / "loopml" / "serve" / module).read_text()
        assert not re.search(r"\.config(\[|\.get\()|cfg(\[|\.get\()", source), module
