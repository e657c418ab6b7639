from __future__ import annotations

import json

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from loopml.data import profile, profile_html
from tests.data.conftest import churn_frame


def _by_name(report: dict) -> dict:
    return {c["name"]: c for c in report["columns"]}


def test_numeric_and_categorical_statistics() -> None:
    report = profile(churn_frame())
    cols = _by_name(report)
    tenure = cols["tenure"]
    assert tenure["count"] == 200 and tenure["missing"] == 0 and 1 <= tenure["min"] <= tenure["max"] < 60
    assert set(tenure["quantiles"]) == {"p1", "p5", "p25", "p50", "p75", "p95", "p99"}
    assert sum(tenure["histogram"]["counts"]) == 200
    assert len(tenure["histogram"]["edges"]) == len(tenure["histogram"]["counts"]) + 1
    plan = cols["plan"]
    assert plan["distinct"] == 3 and sum(v["count"] for v in plan["top_values"]) == 200


def test_warnings_name_the_problem() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "id": np.arange(100), "const": 7, "mostly_missing": [1.0] * 10 + [None] * 90,
        "skewed": rng.lognormal(0, 2, 100), "ok": rng.normal(size=100),
    })
    df = pd.concat([df, df.iloc[:3]], ignore_index=True)
    kinds = {(w["column"], w["kind"]) for w in profile(df)["warnings"]}
    assert {("const", "constant"), ("mostly_missing", "high_missing"), ("skewed", "skewed"),
            (None, "duplicate_rows")} <= kinds
    assert ("ok", "skewed") not in kinds and ("id", "id_like") not in kinds  # duplicated ids are not unique
    assert ("id", "id_like") in {(w["column"], w["kind"]) for w in profile(df.iloc[:100])["warnings"]}


def test_degenerate_frames_give_strict_json() -> None:
    frames = [pd.DataFrame({"a": []}), pd.DataFrame({"a": [None, None]}), pd.DataFrame({"a": [np.inf, 1.0]}),
              pd.DataFrame({"t": pd.to_datetime(["2024-01-01", None])}), pd.DataFrame({"b": [True, False]})]
    for frame in frames:
        json.dumps(profile(frame), allow_nan=False)


def test_html_is_self_contained_with_inline_svg() -> None:
    page = profile_html(profile(churn_frame().assign(note="<script>alert(1)</script>")), title="churn")
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 6
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "") and "https://" not in page


@settings(max_examples=40, deadline=None)
@given(
    numbers=st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)), max_size=30),
    texts=st.lists(st.one_of(st.none(), st.text(max_size=5)), min_size=30, max_size=30),
)
def test_profile_is_always_strict_json(numbers: list, texts: list) -> None:
    frame = pd.DataFrame({"n": pd.Series(numbers, dtype=float), "t": pd.Series(texts[: len(numbers)], dtype=object)})
    report = profile(frame)
    json.dumps(report, allow_nan=False)
    assert report["rows"] == len(numbers)
    profile_html(report)
