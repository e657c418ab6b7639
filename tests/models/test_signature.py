"""Signatures: inference from a frame, and checking frames (missing, extra, wrong type, NaN, categories)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loopml.errors import ValidationError
from loopml.models import ColumnSpec, Signature, infer_signature


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "n": [1, 2, 3], "x": [0.5, np.nan, 1.5], "flag": [True, False, True], "name": ["a", "b", "c"],
        "tier": pd.Categorical(["gold", "silver", "gold"], categories=["gold", "silver"]),
        "at": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"]),
    })


def test_infer_signature_records_order_types_nullability_and_categories() -> None:
    sig = infer_signature(_frame())
    assert sig.to_dict()["inputs"] == [
        {"name": "n", "type": "int64", "nullable": False}, {"name": "x", "type": "float64", "nullable": True},
        {"name": "flag", "type": "bool", "nullable": False}, {"name": "name", "type": "string", "nullable": False},
        {"name": "tier", "type": "category", "nullable": False, "categories": ["gold", "silver"]},
        {"name": "at", "type": "datetime", "nullable": False},
    ]
    assert Signature.from_dict(sig.to_dict()) == sig


def test_validate_returns_ordered_typed_frame() -> None:
    sig = infer_signature(_frame())
    shuffled = _frame()[["at", "tier", "name", "flag", "x", "n"]].assign(tier=["gold", "gold", "silver"])
    out = sig.validate(shuffled.assign(x=[1, 2, 3]))
    assert list(out.columns) == sig.names and out["x"].dtype == np.float64
    assert isinstance(out["tier"].dtype, pd.CategoricalDtype)


@pytest.mark.parametrize("change,message", [
    (lambda f: f.drop(columns=["n"]), "column 'n' \\(int64\\) is missing"),
    (lambda f: f.assign(extra=1), "column 'extra' is not in the signature"),
    (lambda f: f.assign(n=["1", "2", "3"]), "column 'n' expects int64, got dtype object"),
    (lambda f: f.assign(n=[1.5, 2.0, 3.0]), "column 'n' expects int64"),
    (lambda f: f.assign(flag=[1, 0, 1]), "column 'flag' expects bool"),
    (lambda f: f.assign(x=["a", "b", "c"]), "column 'x' expects float64"),
    (lambda f: f.assign(name=[np.nan, "b", "c"]), "column 'name' \\(string\\) has 1 missing value"),
    (lambda f: f.assign(tier=["gold", "bronze", "gold"]), "unknown categories \\['bronze'\\]"),
    (lambda f: f.assign(at=["2026-01-01"] * 3), "column 'at' expects datetime"),
])
def test_validate_names_the_column_and_expected_dtype(change, message: str) -> None:
    sig = infer_signature(_frame())
    with pytest.raises(ValidationError, match=message):
        sig.validate(change(_frame()))


def test_validate_reports_every_problem_at_once() -> None:
    sig = infer_signature(_frame())
    with pytest.raises(ValidationError) as info:
        sig.validate(_frame().drop(columns=["n"]).assign(x="s", extra=0))
    assert len(info.value.problems) == 3


def test_bad_signatures_and_examples_are_refused() -> None:
    with pytest.raises(ValidationError, match="allowed types are"):
        ColumnSpec("a", "float32")
    with pytest.raises(ValidationError, match="repeat"):
        Signature.from_dict({"inputs": [{"name": "a", "type": "int64"}, {"name": "a", "type": "int64"}]})
    with pytest.raises(ValidationError, match="mixed or unsupported"):
        infer_signature(pd.DataFrame({"a": [1, "x"]}))
    with pytest.raises(ValidationError, match="must be a pandas DataFrame"):
        infer_signature(np.zeros((2, 2)))


def test_numeric_frame_with_the_exact_dtypes_is_checked_in_one_pass_without_a_copy() -> None:
    """The serving hot path (issue 16): a frame that already matches is returned as is, not rebuilt column by
    column; anything else still goes through conversion and full reporting."""
    numbers = pd.DataFrame(np.random.default_rng(0).normal(size=(3, 20)), columns=[f"f{i}" for i in range(20)])
    sig = infer_signature(numbers.assign(n=[1, 2, 3], flag=[True, False, True]))
    frame = numbers.assign(n=[4, 5, 6], flag=[False, False, True])
    assert sig.validate(frame) is frame
    reordered = sig.validate(frame[frame.columns[::-1]])
    assert list(reordered.columns) == sig.names and reordered.equals(frame)
    with pytest.raises(ValidationError, match="'f3' .* missing value"):
        sig.validate(frame.assign(f3=[0.1, np.nan, 0.2]))
    as_floats = sig.validate(frame.assign(n=[4.0, 5.0, 6.0]))
    assert as_floats["n"].dtype == np.int64 and as_floats is not frame
    with pytest.raises(ValidationError, match="expects bool"):
        sig.validate(frame.assign(flag=[1, 0, 1]))
