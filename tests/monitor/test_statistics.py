from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from loopml.errors import NotFoundError, ValidationError
from loopml.monitor import baseline, read_constraints, read_statistics, write_constraints, write_statistics


def _feature(body, name):
    return next(f for f in body["features"] if f["name"] == name)


def test_statistics_follow_model_monitor_shape(profile, reference):
    statistics, _ = profile
    assert statistics["dataset"]["item_count"] == len(reference)
    amount = _feature(statistics, "amount")
    assert amount["inferred_type"] == "Fractional"
    numeric = amount["numerical_statistics"]
    assert numeric["common"] == {"num_present": len(reference), "num_missing": 0}
    assert numeric["mean"] == pytest.approx(reference["amount"].mean())
    assert numeric["std_dev"] == pytest.approx(reference["amount"].std(ddof=0))
    buckets = numeric["distribution"]["kll"]["buckets"]
    assert len(buckets) == 10 and sum(b["count"] for b in buckets) == len(reference)
    sketch = numeric["distribution"]["kll"]["sketch"]
    assert sketch["parameters"] == {"c": 0.64, "k": 2048.0}  # Deequ's KLL form: compactor levels
    assert sum(2**h * len(level) for h, level in enumerate(sketch["data"])) == len(reference)
    plan = _feature(statistics, "plan")["string_statistics"]
    counts = {b["value"]: b["count"] for b in plan["distribution"]["categorical"]["buckets"]}
    assert counts == reference["plan"].value_counts().to_dict()
    assert plan["distinct_count"] == 3


def test_constraints_carry_types_domains_and_monitoring_config(profile):
    _, constraints = profile
    assert _feature(constraints, "count")["inferred_type"] == "Integral"
    assert _feature(constraints, "count")["num_constraints"] == {"is_non_negative": True}
    assert _feature(constraints, "amount")["completeness"] == 1.0
    assert _feature(constraints, "plan")["string_constraints"]["domains"] == ["basic", "pro", "team"]
    distribution = constraints["monitoring_config"]["distribution_constraints"]
    assert distribution["comparison_method"] == "Robust"
    assert distribution["comparison_threshold"] == 0.1
    assert distribution["categorical_comparison_threshold"] == 0.1


def test_missing_values_lower_completeness_and_all_null_is_unknown():
    frame = pd.DataFrame({"x": [1.0, np.nan, 3.0, np.inf], "empty": [None] * 4})
    statistics, constraints = baseline(frame)
    assert _feature(statistics, "x")["numerical_statistics"]["common"] == {"num_present": 2, "num_missing": 2}
    assert _feature(constraints, "x")["completeness"] == 0.5
    assert _feature(constraints, "empty")["inferred_type"] == "Unknown"


def test_constant_baseline_has_a_single_bucket():
    statistics, _ = baseline(pd.DataFrame({"z": [2.5] * 50}))
    numeric = _feature(statistics, "z")["numerical_statistics"]
    assert numeric["std_dev"] == 0.0
    assert numeric["distribution"]["kll"]["buckets"] == [
        {"lower_bound": 2.5, "upper_bound": 2.5, "count": 50}
    ]


def test_files_round_trip_as_plain_json(profile, tmp_path):
    statistics, constraints = profile
    write_statistics(statistics, tmp_path / "statistics.json")
    write_constraints(constraints, tmp_path / "constraints.json")
    assert read_statistics(tmp_path / "statistics.json") == json.loads(json.dumps(statistics))
    assert read_constraints(tmp_path / "constraints.json") == constraints
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_readers_explain_bad_files(tmp_path):
    with pytest.raises(NotFoundError, match="does not exist"):
        read_statistics(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValidationError, match="not valid JSON"):
        read_constraints(tmp_path / "bad.json")
    (tmp_path / "shape.json").write_text('{"version": 0}')
    with pytest.raises(ValidationError, match="no 'features' list"):
        read_statistics(tmp_path / "shape.json")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"comparison_method": "Fancy"}, "comparison_method"),
        ({"comparison_threshold": 0.0}, "comparison_threshold"),
    ],
)
def test_bad_options_are_rejected_with_the_allowed_values(kwargs, match):
    with pytest.raises(ValidationError, match=match):
        baseline(pd.DataFrame({"x": [1, 2]}), **kwargs)


def test_baseline_needs_a_dataframe():
    with pytest.raises(ValidationError, match="DataFrame"):
        baseline([{"x": 1}])
