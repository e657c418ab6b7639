"""The gate: safe parsing, champion rules, bias rules and undefined values."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loopml.evaluate import Gate, GateError, evaluate

RULES = ["auc >= 0.75", "auc >= champion.auc - 0.0", "max_slice_drop <= 0.02", "abs(DPPL) <= 0.1"]


@pytest.fixture(scope="module")
def report(data: pd.DataFrame, xgb, weak):
    return evaluate(xgb, data, label="y", incumbent=weak, slices=["region"], sensitive=["sex"],
                    shap_sample=0, bootstrap=20)


def test_the_issue_rules_pass_for_a_better_fair_model(report) -> None:
    result = Gate.from_rules(RULES).evaluate(report)
    assert result.passed, result
    assert [r.rule for r in result.rules] == RULES
    assert result.rules[0].observed == pytest.approx(report.metrics["roc_auc"])


def test_failing_rule_says_what_was_observed(report) -> None:
    result = Gate.from_rules(["auc >= 0.999", "champion.auc > auc"]).evaluate(report)
    assert not result.passed
    assert not result.rules[0].passed and "is not >= 0.999" in result.rules[0].reason
    assert not result.rules[1].passed


def test_champion_rule_without_incumbent_passes_with_reason(data: pd.DataFrame, xgb) -> None:
    report = evaluate(xgb, data, label="y", shap_sample=0, bootstrap=0)
    outcome = Gate.from_rules(["auc >= champion.auc", "delta.accuracy >= 0"]).evaluate(report).rules
    assert all(o.passed and o.reason == "no incumbent" for o in outcome)


def test_arithmetic_functions_and_precedence(report) -> None:
    rule = "max(auc, 0.1) - 2 * 0.5 + (1 - -1) / 2 >= auc - 1e-9"
    assert Gate.from_rules([rule]).evaluate(report).passed


def test_bias_rule_checks_every_facet_and_reports_failures(report) -> None:
    result = Gate.from_rules(["abs(DPPL) <= 0.0000001"]).evaluate(report)
    assert not result.passed
    assert "sex=F" in result.rules[0].reason or "sex=M" in result.rules[0].reason


def test_bias_rule_without_sensitive_columns_fails(data: pd.DataFrame, xgb) -> None:
    report = evaluate(xgb, data, label="y", shap_sample=0, bootstrap=0)
    outcome = Gate.from_rules(["DI >= 0.8"]).evaluate(report).rules[0]
    assert not outcome.passed and "sensitive=" in outcome.reason


def test_undefined_metric_fails_the_rule_with_its_reason(data: pd.DataFrame, xgb) -> None:
    report = evaluate(xgb, data, label="y", shap_sample=0, bootstrap=0)
    outcome = Gate.from_rules(["max_slice_drop <= 0.02"]).evaluate(report).rules[0]
    assert not outcome.passed and "no slices were requested" in outcome.reason


def test_unknown_names_list_the_available_ones() -> None:
    with pytest.raises(GateError, match=r"unknown name 'aucc'.*available names are \[.*'roc_auc'"):
        Gate.from_rules(["aucc >= 0.7"])
    with pytest.raises(GateError, match="unknown name 'champion.bogus'"):
        Gate.from_rules(["champion.bogus >= 0.7"])


@pytest.mark.parametrize("rule", [
    "__import__('os').system('echo hacked') >= 0",
    "auc.__class__ >= 0",
    "auc >= 0.7; import os",
    "auc >= 0.7 and auc <= 1",
    "open('x') >= 0",
    "auc",
    "auc >= ",
    "auc >= 0.7 >= 0.1",
    "(" * 40 + "auc" + ")" * 40 + " >= 0",
    "auc >= " + "1" * 600,
])
def test_hostile_or_malformed_rules_are_rejected(rule: str) -> None:
    with pytest.raises(GateError):
        Gate.from_rules([rule])


def test_every_bad_rule_is_reported_at_once() -> None:
    with pytest.raises(GateError) as info:
        Gate.from_rules(["foo >= 1", "auc >= 0.5", "bar <= 2"])
    assert len(info.value.errors) == 2 and "'foo'" in info.value.message and "'bar'" in info.value.message


def test_gate_result_is_json_safe(report) -> None:
    result = Gate.from_rules(RULES).evaluate(report)
    assert result.model_dump(mode="json")["passed"] is True


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="aucDPL_.()<>=!+-*/ 0123456789,e", max_size=40))
def test_parser_only_ever_raises_gate_error(rule: str) -> None:
    try:
        Gate.from_rules([rule])
    except GateError:
        pass


def test_bias_rule_qualified_by_column_and_facet(data: pd.DataFrame, xgb) -> None:
    frame = data.assign(band=(data.a > 0).map({True: "high", False: "low"}))
    report = evaluate(xgb, frame, label="y", sensitive=["sex", "band"], shap_sample=0, bootstrap=0)
    assert not Gate.from_rules(["abs(DPPL) <= 0.1"]).evaluate(report).passed  # band tracks the signal
    assert Gate.from_rules(["abs(DPPL[sex]) <= 0.1"]).evaluate(report).passed
    outcome = Gate.from_rules(["DPPL[band=high] <= 0"]).evaluate(report).rules[0]
    assert outcome.passed and "band=high" in outcome.reason
    missing = Gate.from_rules(["DPPL[sex=X] <= 0.1"]).evaluate(report).rules[0]
    assert not missing.passed and "sex=F" in missing.reason
    with pytest.raises(GateError, match="only bias metrics take"):
        Gate.from_rules(["auc[sex=F] >= 0.5"])
