"""Baselines written by SageMaker Model Monitor: real KLL sketches and monitoringConfigOverrides, read and
compared against exact distances computed with numpy; and drift on categorical features of any cardinality."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loopml.monitor import baseline, check_data_quality, read_constraints, read_statistics
from loopml.monitor._kll import build_sketch, sketch_cdf
from loopml.monitor.files import read_json
from tests.monitor.deequ_kll import deequ_sketch

FIXTURES = Path(__file__).parent / "fixtures" / "sagemaker"


def exact_ks(base: np.ndarray, window: np.ndarray) -> float:
    """The two-sample Kolmogorov-Smirnov statistic, exactly, from all values of both samples."""
    points = np.union1d(base, window)
    f_base = np.searchsorted(np.sort(base), points, side="right") / base.size
    f_win = np.searchsorted(np.sort(window), points, side="right") / window.size
    return float(np.max(np.abs(f_base - f_win)))


def exact_linf(base: pd.Series, window: pd.Series) -> float:
    """The largest difference of any category's frequency, exactly, from all values of both samples."""
    p = base.value_counts(normalize=True)
    q = window.value_counts(normalize=True)
    both = p.index.union(q.index)
    return float(np.max(np.abs(p.reindex(both, fill_value=0).to_numpy() - q.reindex(both, fill_value=0).to_numpy())))


def sketch_error(sketch: dict, values: np.ndarray) -> float:
    """The largest gap between a sketch's CDF and the exact CDF of the values it summarises."""
    points, cdf = sketch_cdf(sketch)
    grid = np.union1d(points, values)
    ordered = np.sort(values)
    exact = np.searchsorted(ordered, grid, side="right") / values.size
    approx = np.concatenate(([0.0], cdf))[np.searchsorted(points, grid, side="right")]
    return float(np.max(np.abs(exact - approx)))


# --- the documented files, field by field ---------------------------------------------------------------


def test_documented_statistics_file_reads_with_weighted_compactor_levels():
    statistics = read_statistics(FIXTURES / "statistics.json")
    assert statistics["version"] == 0.0 and statistics["dataset"] == {"item_count": 8}
    amount = statistics["features"][0]
    assert (amount["name"], amount["inferred_type"]) == ("amount", "Fractional")
    numeric = amount["numerical_statistics"]
    assert numeric["common"] == {"num_present": 7, "num_missing": 1}
    assert (numeric["sum"], numeric["min"], numeric["max"]) == (24.0, 1.0, 5.0)
    sketch = numeric["distribution"]["kll"]["sketch"]
    assert sketch["parameters"] == {"c": 0.64, "k": 2048.0}
    points, cdf = sketch_cdf(sketch)  # level 0 items weigh 1, level 1 items weigh 2: {1, 2, 3, 4, 4, 5, 5}
    assert points.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert cdf.tolist() == pytest.approx([1 / 7, 2 / 7, 3 / 7, 5 / 7, 1.0])
    assert sum(2**h * len(level) for h, level in enumerate(sketch["data"])) == numeric["common"]["num_present"]
    plan = statistics["features"][2]["string_statistics"]
    assert plan["distinct_count"] == 3.0
    assert [b["value"] for b in plan["distribution"]["categorical"]["buckets"]] == ["basic", "pro", "team"]


def test_documented_constraints_apply_each_features_overrides():
    """`items` overrides the threshold nested as in monitoring_config, `plan` flat; `amount` keeps 0.1."""
    statistics = read_statistics(FIXTURES / "statistics.json")
    constraints = read_constraints(FIXTURES / "constraints.json")
    assert constraints["features"][0]["monitoringConfigOverrides"] == {}
    window = pd.DataFrame({"amount": [1.0, 2.0, 3.0, 4.0, 4.0, 5.0, 5.0] * 10 + [3.0] * 30,
                           "items": [1, 2, 3, 4] * 20 + [4] * 20,
                           "plan": ["basic"] * 50 + ["pro"] * 20 + ["team"] * 30})
    report = check_data_quality(window, statistics, constraints, min_rows=10)
    by_name = {f.name: f for f in report.features}
    assert by_name["amount"].threshold == 0.1 and by_name["items"].threshold == 0.6
    assert by_name["plan"].threshold == 0.7
    assert by_name["amount"].status == "drift"  # L-inf 0.6 - 3/7 at 3.0 > 0.1
    assert by_name["items"].status == "ok" and by_name["plan"].status == "ok"
    assert report.drifted_features == ["amount"]


def test_documented_violations_shape_is_what_reports_write():
    doc = read_json(FIXTURES / "constraint_violations.json")
    statistics, constraints = baseline(pd.DataFrame({"amount": np.linspace(0, 1, 200)}))
    report = check_data_quality(pd.DataFrame({"amount": np.linspace(0.6, 1.6, 200)}), statistics, constraints)
    written = report.to_dict()["violations"][0]
    assert list(written) == list(doc["violations"][0])
    assert written["constraint_check_type"] == doc["violations"][0]["constraint_check_type"]


# --- real KLL sketches, as Deequ builds them ---------------------------------------------------------------


@pytest.fixture(scope="module")
def sagemaker_baseline() -> tuple[np.ndarray, dict, dict]:
    rng = np.random.default_rng(11)
    values = rng.normal(50.0, 10.0, 30_000)
    statistics, constraints = baseline(pd.DataFrame({"x": values}))
    feature = statistics["features"][0]["numerical_statistics"]
    feature["distribution"]["kll"]["sketch"] = deequ_sketch(values)  # what Model Monitor would have written
    return values, statistics, constraints


def test_a_deequ_sketch_has_several_compactor_levels(sagemaker_baseline):
    values, statistics, _ = sagemaker_baseline
    sketch = statistics["features"][0]["numerical_statistics"]["distribution"]["kll"]["sketch"]
    lengths = [len(level) for level in sketch["data"]]
    assert len(lengths) >= 3 and len(set(lengths)) > 1  # levels of different sizes: [points, cdf] it is not
    assert sum(2**h * n for h, n in enumerate(lengths)) == values.size


@pytest.mark.parametrize("shift", [0.0, 2.0, 6.0])
def test_drift_on_a_sagemaker_sketch_matches_the_exact_ks_statistic(sagemaker_baseline, shift):
    """Today: IndexError / broadcast error / a false 1.0. Now: within the sketch's own error of the exact KS."""
    values, statistics, constraints = sagemaker_baseline
    window = np.random.default_rng(12).normal(50.0 + shift, 10.0, 5_000)
    report = check_data_quality(pd.DataFrame({"x": window}), statistics, constraints)
    check = report.feature("x")
    sketch = statistics["features"][0]["numerical_statistics"]["distribution"]["kll"]["sketch"]
    bound = sketch_error(sketch, values)
    assert bound < 0.02
    assert abs(check.linf - exact_ks(values, window)) <= bound + 1e-12
    assert (check.status == "drift") == (shift == 6.0)


def test_loopml_sketches_are_deequ_shaped_exact_for_few_values_and_within_2_over_k_otherwise():
    rng = np.random.default_rng(5)
    few = np.sort(rng.integers(0, 12, 1_000_000).astype(float))
    sketch = build_sketch(few)
    assert sketch["parameters"] == {"c": 0.64, "k": 2048.0}
    assert sum(2**h * len(level) for h, level in enumerate(sketch["data"])) == few.size
    assert sketch_error(sketch, few) == 0.0
    many = np.sort(rng.normal(0, 1, 1_000_000))
    sketch = build_sketch(many)
    assert sum(len(level) for level in sketch["data"]) <= 2048 + 20
    assert sum(2**h * len(level) for h, level in enumerate(sketch["data"])) == many.size
    assert sketch_error(sketch, many) < 2 / 2048


def test_sketches_written_by_earlier_loopml_still_read():
    points, cdf = [1.0, 2.0, 5.0], [0.25, 0.5, 1.0]
    assert [a.tolist() for a in sketch_cdf({"parameters": {"c": 0.0, "k": 1001.0}, "data": [points, cdf]})] == [
        points, cdf]


def test_a_malformed_sketch_is_a_clear_error():
    from loopml.errors import ValidationError

    with pytest.raises(ValidationError, match="list of levels"):
        sketch_cdf({"data": [1.0, 2.0]})
    with pytest.raises(ValidationError, match="not a finite number"):
        sketch_cdf({"data": [[1.0, "x"]]})


# --- categorical drift at any cardinality --------------------------------------------------------------------

VALUES = np.array([f"v{i:04d}" for i in range(4000)])


def _categories(rows: int, seed: int) -> pd.Series:
    return pd.Series(np.random.default_rng(seed).choice(VALUES, rows))


def _listing_only(statistics: dict, keep: int) -> dict:
    """The same baseline as Model Monitor writes it for a high-cardinality column: the top `keep` values."""
    out = {**statistics, "features": [dict(f) for f in statistics["features"]]}
    stats = dict(out["features"][0]["string_statistics"])
    buckets = stats["distribution"]["categorical"]["buckets"]
    stats["distribution"] = {"categorical": {"buckets": buckets[:keep]}}
    out["features"][0]["string_statistics"] = stats
    return out


@pytest.fixture(scope="module")
def many_categories():
    base = _categories(20_000, 1)
    statistics, constraints = baseline(pd.DataFrame({"c": base}))
    return base, statistics, constraints


@pytest.mark.parametrize("listed", ["all", "top_1000"])
def test_4000_equally_likely_values_without_drift_raise_no_alarm(many_categories, listed):
    base, statistics, constraints = many_categories
    if listed == "top_1000":
        statistics = _listing_only(statistics, 1000)
    window = _categories(20_000, 2)
    check = check_data_quality(pd.DataFrame({"c": window}), statistics, constraints).feature("c")
    exact = exact_linf(base, window)
    assert exact < 0.01
    if listed == "all":
        assert check.linf == pytest.approx(exact, abs=1e-12) and check.linf_error == 0.0
    else:
        assert 0 < check.linf_error <= 1 / 1001
        assert abs(check.linf - exact) <= check.linf_error
    assert check.status == "ok"


@pytest.mark.parametrize("listed", ["all", "top_1000"])
def test_a_rare_value_jumping_to_30_percent_is_flagged_at_its_exact_distance(many_categories, listed):
    base, statistics, constraints = many_categories
    counts = base.value_counts()
    rare = str(counts.index[-1])  # among the least frequent: unlisted in the top-1000 baseline
    if listed == "top_1000":
        statistics = _listing_only(statistics, 1000)
    window = _categories(20_000, 3)
    window.iloc[:6000] = rare
    check = check_data_quality(pd.DataFrame({"c": window}), statistics, constraints).feature("c")
    exact = exact_linf(base, window)
    assert exact == pytest.approx(0.30, abs=0.01)
    assert abs(check.linf - exact) <= (check.linf_error or 0.0) + 1e-12
    assert check.status == "drift"
