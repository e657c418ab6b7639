"""Shared frames for the monitor tests: a seeded baseline with numeric, integral and string features."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from loopml.monitor import baseline


def make_frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": rng.normal(100.0, 15.0, rows),
            "count": rng.integers(0, 10, rows),
            "plan": rng.choice(["basic", "pro", "team"], rows, p=[0.6, 0.3, 0.1]),
        }
    )


@pytest.fixture(scope="session")
def reference() -> pd.DataFrame:
    return make_frame(20_000, seed=1)


@pytest.fixture(scope="session")
def clean_window() -> pd.DataFrame:
    return make_frame(5_000, seed=2)


@pytest.fixture(scope="session")
def profile(reference: pd.DataFrame) -> tuple[dict[str, Any], dict[str, Any]]:
    return baseline(reference)


from tests.serve.conftest import served  # noqa: E402,F401 - endpoints for the capture tests
