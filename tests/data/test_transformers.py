from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

from loopml.data import transformers as tf
from loopml.data.pipeline_io import load_pipeline


def test_trusted_types_name_every_transformer() -> None:
    for qualified in tf.TRUSTED_TYPES:
        module, _, name = qualified.rpartition(".")
        cls = getattr(importlib.import_module(module), name)
        assert issubclass(cls, tf._FrameTransformer)
    assert len(tf.TRUSTED_TYPES) == 10


FRAME = pd.DataFrame({
    "n": [1.0, None, 4.0, 100.0],
    "c": ["a", None, "b", "a"],
    "ts": pd.to_datetime(["2024-01-06 00:00", "2024-02-01 00:00", None, "2024-12-31 13:00"]),
    "txt": ["two words", "", None, "three short words"],
}, index=[10, 11, 12, 13])


@pytest.mark.parametrize(
    ("transformer", "column", "expected"),
    [
        (tf.ImputeColumns(["n"], strategy="median"), "n", [1.0, 4.0, 4.0, 100.0]),
        (tf.ImputeColumns(["c"], strategy="most_frequent"), "c", ["a", "a", "b", "a"]),
        (tf.ImputeColumns(["c"], strategy="constant", fill_value="?"), "c", ["a", "?", "b", "a"]),
        (tf.ClipColumns(["n"], lower=2, upper=10), "n", [2.0, None, 4.0, 10.0]),
        (tf.LogColumns(["n"]), "n", [np.log(2), None, np.log(5), np.log(101)]),
        (tf.BinColumns(["n"], bins=[2, 50]), "n", [0.0, None, 1.0, 2.0]),
        (tf.DateTimeParts(["ts"], parts=["month", "is_weekend", "hour"]), "ts_is_weekend", [1.0, 0.0, None, 0.0]),
        (tf.TextStats(["txt"]), "txt_tokens", [2, 0, 0, 3]),
        (tf.CastColumns({"n": "int"}), "n", [1, None, 4, 100]),
        (tf.SqlExpression("r", "n * 2 + length(c)"), "r", [3.0, None, 9.0, 201.0]),
    ],
)
def test_transformers_compute_and_survive_skops(transformer, column: str, expected: list) -> None:
    out = transformer.fit(FRAME).transform(FRAME)
    assert list(out.index) == [10, 11, 12, 13]
    got = [None if pd.isna(v) else v for v in out[column]]
    assert got == pytest.approx(expected) if isinstance(expected[0], float) else got == expected
    reloaded = load_pipeline(sio.dumps(transformer))
    pd.testing.assert_frame_equal(reloaded.transform(FRAME), out)


def test_rename_drop_and_datetime_parts_shape() -> None:
    out = tf.RenameColumns({"n": "m"}).fit(FRAME).transform(FRAME)
    assert "m" in out.columns and "n" not in out.columns
    assert list(tf.DropColumns(["c", "absent"]).fit(FRAME).transform(FRAME).columns) == ["n", "ts", "txt"]
    parts = tf.DateTimeParts(["ts"], drop=False).fit(FRAME).transform(FRAME)
    assert {"ts", "ts_year", "ts_month", "ts_day", "ts_dayofweek", "ts_hour"} <= set(parts.columns)
