"""render_html: a self-contained page with inline SVG, escaped values and highlights."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pandas as pd

from loopml.evaluate import Gate, evaluate, render_html


def test_report_is_self_contained_with_all_sections(data: pd.DataFrame, xgb, weak) -> None:
    report = evaluate(xgb, data, label="y", incumbent=weak, slices=["region"], sensitive=["sex"],
                      shap_sample=50, bootstrap=10)
    gate = Gate.from_rules(["auc >= 0.75"]).evaluate(report)
    page = render_html(report, gate=gate)
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script|<link|src=|https?://(?!www\.w3\.org/2000/svg)", page)
    for caption in ("ROC curve", "Precision-recall curve", "Calibration", "Confusion matrix", "Mean |SHAP|"):
        assert caption in page
    for heading in ("Champion vs challenger", "Slices", "Bias", "Gate: <span class='pass'>PASSED"):
        assert heading in page
    for svg in re.findall(r"<svg.*?</svg>", page, flags=re.S):
        ET.fromstring(svg)  # well-formed


def test_out_of_bounds_bias_and_flagged_slices_are_highlighted(data: pd.DataFrame, xgb) -> None:
    frame = data.assign(sex=(data.a > 0).map({True: "F", False: "M"}))
    report = evaluate(xgb, frame, label="y", sensitive=["sex"], shap_sample=0, bootstrap=0)
    page = render_html(report)
    assert 'class="num bad"' in page  # DPPL is far outside +-0.1 when sex tracks the signal


def test_values_are_escaped(data: pd.DataFrame, xgb) -> None:
    frame = data.assign(region="<script>alert(1)</script>")
    report = evaluate(xgb, frame, label="y", slices=["region"], shap_sample=0, bootstrap=0)
    page = render_html(report, title="<b>x</b>")
    assert "<script>" not in page and "&lt;script&gt;" in page
