"""Builders of data-quality violations: schema, data type, completeness and domain checks, drift."""

from __future__ import annotations

from typing import Any

import pandas as pd

from loopml.monitor import _columns as cols
from loopml.monitor import violations as v


def schema_violations(window: pd.DataFrame, statistics: dict[str, Any]) -> list[v.Violation]:
    expected = [f["name"] for f in statistics["features"]]
    present = [str(c) for c in window.columns]
    found = [
        v.Violation(
            v.MISSING_COLUMN_CHECK,
            f"Baseline column {name!r} is missing from the window; "
            "restore it in the captured records or re-baseline.",
            feature_name=name,
        )
        for name in expected
        if name not in present
    ]
    found += [
        v.Violation(
            v.EXTRA_COLUMN_CHECK,
            f"Window column {name!r} is not in the baseline; drop it from the "
            "records or re-baseline to monitor it.",
            feature_name=name,
        )
        for name in dict.fromkeys(present)
        if name not in expected
    ]
    found += [
        v.Violation(
            v.EXTRA_COLUMN_CHECK,
            f"Window column {name!r} appears {present.count(name)} times; only the first is checked. "
            "Give each captured field a unique name.",
            feature_name=name,
        )
        for name in dict.fromkeys(present)
        if present.count(name) > 1
    ]
    return found


def unique_text_columns(window: pd.DataFrame) -> pd.DataFrame:
    """The window with text column names, keeping the first of any repeated name."""
    if not all(isinstance(c, str) for c in window.columns):
        window = window.set_axis([str(c) for c in window.columns], axis=1)
    return window.loc[:, ~window.columns.duplicated()] if window.columns.has_duplicates else window


def constraint_violations(
    name: str, kind: str, column: pd.Series, constraint: dict[str, Any], completeness: float, ctx: Any
) -> list[v.Violation]:
    found = []
    fitting = cols.conforming_fraction(column, kind)
    limit = float(ctx.config.get("datatype_check_threshold", 1.0))
    if fitting is not None and fitting < limit:
        found.append(
            v.Violation(
                v.DATA_TYPE_CHECK,
                f"Data type match requirement is not met. Expected "
                f"{kind} for at least {limit:.1%} of values, but only {fitting:.2%} are; fix the producer or "
                "re-baseline.",
                feature_name=name,
            )
        )
    required = constraint.get("completeness")
    if required is not None and len(column) >= ctx.min_rows and completeness < required - 1e-12:
        found.append(
            v.Violation(
                v.COMPLETENESS_CHECK,
                f"Data completeness requirement is not met. Expected "
                f"at least {required:.2%} of values present, but {completeness:.2%} are; find where "
                "values are lost or lower 'completeness' in constraints.json.",
                feature_name=name,
            )
        )
    return found


def domain_violation(
    name: str, counts: dict[str, int], constraint: dict[str, Any], ctx: Any
) -> list[v.Violation]:
    domain = set(constraint.get("string_constraints", {}).get("domains") or ())
    if not domain:
        return []
    total = sum(counts.values())
    unknown = {k: c for k, c in counts.items() if k not in domain}
    limit = float(ctx.config.get("domain_content_threshold", 1.0))
    if not total or (total - sum(unknown.values())) / total >= limit:
        return []
    sample = sorted(unknown, key=lambda k: -unknown[k])[:5]
    return [
        v.Violation(
            v.CATEGORICAL_VALUES_CHECK,
            f"{sum(unknown.values()) / total:.2%} of values are not in "
            f"the baseline domain (new values include {sample}); allowed: at least {limit:.1%} known "
            "values. Add them to 'domains' in constraints.json if they are legitimate.",
            feature_name=name,
        )
    ]


def drift_violation(check: Any) -> v.Violation:
    return v.Violation(
        v.BASELINE_DRIFT_CHECK,
        f"Baseline drift distance ({check.metric}) {check.distance:.4f} exceeds threshold {check.threshold:.4g} "
        f"(linf={check.linf:.4f}, psi={check.psi:.4f}, jensen_shannon={check.jensen_shannon:.4f}); investigate "
        "the source data, then retrain or re-baseline.",
        feature_name=check.name,
    )
