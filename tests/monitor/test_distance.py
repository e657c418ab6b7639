from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp

from loopml.monitor import baseline, check_data_quality

samples = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=30, max_size=300)


@settings(max_examples=40, deadline=None)
@given(reference=samples, window=samples)
def test_sketch_ks_equals_scipy_on_small_samples(reference, window):
    # Under 1,001 distinct baseline values the sketch is exact, so KS must match scipy's two-sample statistic.
    statistics, constraints = baseline(pd.DataFrame({"x": reference}))
    report = check_data_quality(pd.DataFrame({"x": window}), statistics, constraints)
    check = report.feature("x")
    assert check.linf == pytest.approx(ks_2samp(reference, window, method="asymp").statistic, abs=1e-9)
    assert 0.0 <= check.jensen_shannon <= 1.0 and check.psi >= 0.0


def test_sketch_ks_is_close_to_exact_on_large_samples():
    rng = np.random.default_rng(3)
    reference, window = rng.lognormal(size=200_000), rng.lognormal(0.05, 1.1, size=50_000)
    statistics, constraints = baseline(pd.DataFrame({"x": reference}))
    linf = check_data_quality(pd.DataFrame({"x": window}), statistics, constraints).feature("x").linf
    assert linf == pytest.approx(ks_2samp(reference, window, method="asymp").statistic, abs=2e-3)


def test_identical_distributions_score_zero_on_every_metric():
    frame = pd.DataFrame({"x": np.arange(100.0), "c": ["a", "b"] * 50})
    report = check_data_quality(frame, *baseline(frame))
    assert all(
        f.linf == 0.0 and f.psi == pytest.approx(0.0) and f.jensen_shannon == 0.0 for f in report.features
    )


def test_truncated_categories_pool_the_rest_instead_of_calling_them_new():
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"id": rng.integers(0, 500, 20_000).astype(str)})
    statistics, constraints = baseline(frame, max_categories=20)
    report = check_data_quality(
        pd.DataFrame({"id": rng.integers(0, 500, 5_000).astype(str)}), statistics, constraints
    )
    assert report.feature("id").status == "ok" and report.feature("id").linf < 0.05
