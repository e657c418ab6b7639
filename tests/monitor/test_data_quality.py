from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames, range_indexes

from loopml.errors import ValidationError
from loopml.monitor import baseline, check_data_quality, write_violations
from loopml.monitor.files import read_json


def _checks(report):
    return {(v.feature_name, v.constraint_check_type) for v in report.violations}


def test_clean_window_has_no_violations(profile, clean_window):
    report = check_data_quality(clean_window, *profile)
    assert report.status == "ok" and report.violations == ()
    assert all(f.status == "ok" for f in report.features)
    assert all(f.linf < 0.05 and f.psi < 0.05 and f.jensen_shannon < 0.05 for f in report.features)


def test_shifted_numeric_and_categorical_features_are_flagged(profile, clean_window):
    window = clean_window.assign(amount=clean_window["amount"] + 15.0)
    window["plan"] = np.where(np.arange(len(window)) % 2 == 0, "team", window["plan"])
    report = check_data_quality(window, *profile)
    assert report.drifted_features == ["amount", "plan"]
    amount = report.feature("amount")
    assert amount.linf == pytest.approx(0.38, abs=0.03)  # KS of a 1 sd shift: 2*Phi(0.5) - 1
    assert amount.psi > 0.2 and amount.jensen_shannon > 0.2
    assert ("amount", "baseline_drift_check") in _checks(report)


def test_report_is_constraint_violations_json(profile, clean_window, tmp_path):
    report = check_data_quality(clean_window.assign(amount=clean_window["amount"] * 3), *profile)
    write_violations(report, tmp_path / "constraint_violations.json")
    body = read_json(tmp_path / "constraint_violations.json")
    assert body == {"violations": [v.to_dict() for v in report.violations]}
    assert set(body["violations"][0]) == {"feature_name", "constraint_check_type", "description"}


def test_per_feature_thresholds_and_metrics(profile, clean_window):
    window = clean_window.assign(amount=clean_window["amount"] + 3.0)  # 0.2 sd: KS about 0.08
    assert check_data_quality(window, *profile).drifted_features == []
    tight = check_data_quality(window, *profile, thresholds={"amount": 0.03})
    assert tight.drifted_features == ["amount"] and tight.feature("amount").threshold == 0.03
    by_psi = check_data_quality(window, *profile, thresholds={"amount": {"metric": "psi", "threshold": 0.01}})
    assert by_psi.feature("amount").metric == "psi" and by_psi.drifted_features == ["amount"]


@pytest.mark.parametrize(
    ("thresholds", "match"),
    [
        ({"nope": 0.1}, "not in the baseline"),
        ({"amount": {"metric": "kl"}}, "metric"),
        ({"amount": -1}, "positive"),
    ],
)
def test_bad_thresholds_name_the_problem(profile, clean_window, thresholds, match):
    with pytest.raises(ValidationError, match=match):
        check_data_quality(clean_window, *profile, thresholds=thresholds)


def test_schema_change_gives_missing_and_extra_column_violations(profile, clean_window):
    window = clean_window.drop(columns=["count"]).assign(region="eu")
    report = check_data_quality(window, *profile)
    assert {("count", "missing_column_check"), ("region", "extra_column_check")} <= _checks(report)
    assert report.feature("count").status == "not_checked"


def test_wrong_type_and_unknown_category_are_reported(profile, clean_window):
    window = clean_window.assign(
        count=clean_window["count"] + 0.5, plan=clean_window["plan"].replace("pro", "gold")
    )
    checks = _checks(check_data_quality(window, *profile))
    assert ("count", "data_type_check") in checks
    assert ("plan", "categorical_values_check") in checks


def test_completeness_violation_when_values_go_missing(profile, clean_window):
    window = clean_window.assign(amount=clean_window["amount"].mask(clean_window.index % 3 == 0))
    assert ("amount", "completeness_check") in _checks(check_data_quality(window, *profile))


def test_simple_method_flags_what_robust_calls_noise():
    rng = np.random.default_rng(0)
    statistics, constraints = baseline(pd.DataFrame({"x": rng.normal(size=5000)}))
    window = pd.DataFrame({"x": rng.normal(size=40)})
    thresholds = {"x": 0.05}
    assert check_data_quality(window, statistics, constraints, thresholds=thresholds).drifted_features == []
    constraints["monitoring_config"]["distribution_constraints"]["comparison_method"] = "Simple"
    simple = check_data_quality(window, statistics, constraints, thresholds=thresholds)
    assert simple.feature("x").linf > 0.05 and simple.drifted_features == ["x"]


# Degenerate windows (RELIABILITY case 30): no exception, None metrics, never a drift alarm on tiny data.


def test_empty_window_is_insufficient_data_without_violations(profile, clean_window):
    report = check_data_quality(clean_window.iloc[:0], *profile)
    assert report.status == "insufficient_data" and report.violations == ()
    assert all(f.status == "insufficient_data" and f.linf is None for f in report.features)


def test_single_row_window_never_alarms(profile, clean_window):
    row = clean_window.iloc[:1].assign(amount=1e9)
    report = check_data_quality(row, *profile)
    assert report.status == "insufficient_data" and report.violations == ()


def test_all_nan_window_reports_completeness_not_drift(profile, clean_window):
    window = clean_window.assign(amount=np.nan, plan=None)
    report = check_data_quality(window, *profile)
    assert report.feature("amount").status == "insufficient_data" and report.feature("amount").psi is None
    assert report.feature("plan").completeness == 0.0
    assert {v.constraint_check_type for v in report.violations} == {"completeness_check"}


def test_zero_variance_reference_gives_defined_distances():
    statistics, constraints = baseline(pd.DataFrame({"z": np.full(1000, 4.0)}))
    same = check_data_quality(pd.DataFrame({"z": np.full(100, 4.0)}), statistics, constraints)
    assert same.feature("z").linf == 0.0 and same.status == "ok"
    moved = check_data_quality(pd.DataFrame({"z": np.full(100, 5.0)}), statistics, constraints)
    assert moved.feature("z").linf == 1.0 and moved.drifted_features == ["z"]


def test_constant_window_and_new_levels_are_measured(profile, clean_window):
    window = clean_window.assign(amount=100.0, plan="enterprise")
    report = check_data_quality(window, *profile)
    assert report.feature("amount").linf == pytest.approx(0.5, abs=0.02)
    assert report.feature("plan").linf == 1.0 and report.feature("plan").unknown_fraction == 1.0
    assert report.feature("plan").jensen_shannon == pytest.approx(1.0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data_frames(
        [
            column("amount", dtype=float, elements=st.floats(allow_nan=True, allow_infinity=True)),
            column("count", elements=st.one_of(st.none(), st.integers(-5, 20))),
            column("plan", elements=st.one_of(st.none(), st.sampled_from(["basic", "pro", "x", ""]))),
        ],
        index=range_indexes(max_size=40),
    )
)
def test_any_small_window_yields_a_well_formed_report(profile, window):
    report = check_data_quality(window, *profile)
    assert report.status in {"ok", "violations", "insufficient_data"}
    drifted = {v.feature_name for v in report.violations if v.constraint_check_type == "baseline_drift_check"}
    assert all(report.feature(name).present_count >= 30 for name in drifted)
    for check in report.features:
        for value in (check.linf, check.psi, check.jensen_shannon, check.completeness):
            assert value is None or np.isfinite(value)


def test_malformed_baseline_dicts_are_rejected(profile, clean_window):
    statistics, constraints = profile
    with pytest.raises(ValidationError, match="the constraints argument has no 'features' list"):
        check_data_quality(clean_window, statistics, {"version": 0})
    with pytest.raises(ValidationError, match="min_rows"):
        check_data_quality(clean_window, statistics, constraints, min_rows=0)


def test_repeated_and_non_text_column_names_do_not_crash():
    statistics, constraints = baseline(pd.DataFrame({"0": np.arange(100.0), "b": np.arange(100.0)}))
    window = pd.DataFrame([[1.0, 2.0, 3.0]] * 50, columns=[0, "b", "b"])
    report = check_data_quality(window, statistics, constraints)
    assert ("b", "extra_column_check") in _checks(report)
    assert report.feature("0").present_count == 50 and report.feature("b").present_count == 50
