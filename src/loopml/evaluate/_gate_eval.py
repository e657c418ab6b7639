"""Evaluating one parsed gate rule against a report (the parser lives in ``gate.py``)."""

from __future__ import annotations

from typing import Any

from loopml.evaluate import metrics
from loopml.evaluate.gate import _COMPARE, _FUNCTIONS, BIAS_METRICS, RuleOutcome, facet_filters
from loopml.evaluate.report import EvaluationReport, FacetBias


class _Undefined(Exception):
    """A name the rule needs is None in the report."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_rule(rule: str, tree: tuple[str, Any, Any], report: EvaluationReport, *,
               names: set[str]) -> RuleOutcome:
    """Evaluate ``tree`` on ``report``; bias names are checked for every facet."""
    if any(n.partition(".")[0] in ("champion", "delta") and "." in n for n in names) \
            and report.comparison is None:
        return RuleOutcome(rule=rule, passed=True, reason="no incumbent")
    if not names & BIAS_METRICS:
        return _check(rule, tree, report, facet=None)
    if not report.bias:
        return RuleOutcome(rule=rule, passed=False,
                           reason="no bias results in the report; evaluate with sensitive=[column, ...]")
    filters = facet_filters(tree)
    facets = [f for f in report.bias if all(_matches(f, flt) for flt in filters)]
    if not facets:
        known = sorted(f"{f.column}={f.facet}" for f in report.bias)
        return RuleOutcome(rule=rule, passed=False, reason=f"no facet in the report matches {filters}; "
                                                           f"facets are {known}")
    outcomes = [_check(rule, tree, report, facet=facet) for facet in facets]
    failed = [o for o in outcomes if not o.passed]
    if failed:
        return failed[0].model_copy(update={"reason": "; ".join(o.reason for o in failed)[:1000]})
    worst = max(outcomes, key=lambda o: abs(o.observed) if o.observed is not None else 0.0)
    return worst.model_copy(update={"reason": f"holds for all {len(outcomes)} facet(s); worst: {worst.reason}"})


def _matches(facet: FacetBias, qualifier: tuple[str, str | None]) -> bool:
    column, value = qualifier
    return facet.column == column and (value is None or facet.facet == value)


def _check(rule: str, tree: tuple[str, Any, Any], report: EvaluationReport, *,
           facet: FacetBias | None) -> RuleOutcome:
    op, left, right = tree
    where = f" for {facet.column}={facet.facet}" if facet is not None else ""
    try:
        observed = _value(left, report, facet)
        bound = _value(right, report, facet)
    except _Undefined as exc:
        return RuleOutcome(rule=rule, passed=False, reason=f"{exc.reason}{where}")
    except ZeroDivisionError:
        return RuleOutcome(rule=rule, passed=False, reason=f"division by zero{where}")
    passed = _COMPARE[op](observed, bound)
    text = f"{observed:.6g} {op} {bound:.6g}{where}" if passed else f"{observed:.6g} is not {op} {bound:.6g}{where}"
    return RuleOutcome(rule=rule, passed=passed, observed=observed, reason=text)


def _value(node: Any, report: EvaluationReport, facet: FacetBias | None) -> float:
    kind = node[0]
    if kind == "num":
        return float(node[1])
    if kind == "name":
        return _lookup(node[1], report, facet)
    if kind == "neg":
        return -_value(node[1], report, facet)
    if kind == "call":
        return float(_FUNCTIONS[node[1]](*(_value(arg, report, facet) for arg in node[2])))
    a, b = _value(node[1], report, facet), _value(node[2], report, facet)
    return {"+": a + b, "-": a - b, "*": a * b}[kind] if kind != "/" else a / b


def _lookup(name: str, report: EvaluationReport, facet: FacetBias | None) -> float:
    prefix, _, rest = name.partition(".")
    if rest:
        metric = metrics.ALIASES.get(rest, rest)
        champion = report.comparison.champion_metrics if report.comparison else {}
        if prefix == "champion":
            return _defined(champion.get(metric), f"champion.{rest}", report.comparison.champion_reasons
                            if report.comparison else {}, metric)
        new = _defined(report.metrics.get(metric), rest, report.reasons, metric)
        return new - _defined(champion.get(metric), f"champion.{rest}", {}, metric)
    if name in BIAS_METRICS and facet is not None:
        return _defined(facet.metric(name), name, facet.reasons, name)
    if name == "max_slice_drop":
        return _defined(report.max_slice_drop, name, {name: report.max_slice_drop_reason or ""}, name)
    if name == "n_rows":
        return float(report.n_rows)
    metric = metrics.ALIASES.get(name, name)
    if metric not in report.metrics:
        raise _Undefined(f"{name} is not computed for a {report.task} task")
    return _defined(report.metrics[metric], name, report.reasons, metric)


def _defined(value: float | None, name: str, reasons: dict[str, str], key: str) -> float:
    if value is None:
        raise _Undefined(f"{name} is undefined: {reasons.get(key) or 'no value in the report'}")
    return float(value)
