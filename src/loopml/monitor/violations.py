"""Violations and statuses shared by every monitor, in ``constraint_violations.json``'s shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OK = "ok"
DRIFT = "drift"
VIOLATIONS = "violations"
INSUFFICIENT_DATA = "insufficient_data"
NOT_CHECKED = "not_checked"

DATA_TYPE_CHECK = "data_type_check"
COMPLETENESS_CHECK = "completeness_check"
BASELINE_DRIFT_CHECK = "baseline_drift_check"
MISSING_COLUMN_CHECK = "missing_column_check"
EXTRA_COLUMN_CHECK = "extra_column_check"
CATEGORICAL_VALUES_CHECK = "categorical_values_check"
FEATURE_ATTRIBUTION_DRIFT_CHECK = "feature_attribution_drift_check"


@dataclass(frozen=True)
class Violation:
    """One entry of ``constraint_violations.json``.

    Attributes:
        constraint_check_type: Which check failed, e.g. ``"baseline_drift_check"``.
        description: What was observed, what was allowed, and what to do.
        feature_name: The feature, for data-quality checks.
        metric_name: The metric, for model-quality and attribution checks.
        label: The label, for attribution checks (Clarify's ``label``).
    """

    constraint_check_type: str
    description: str
    feature_name: str | None = None
    metric_name: str | None = None
    label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON entry, without the fields that do not apply."""
        keys = ("feature_name", "label", "metric_name", "constraint_check_type", "description")
        return {key: getattr(self, key) for key in keys if getattr(self, key) is not None}


def violations_document(violations: tuple[Violation, ...]) -> dict[str, Any]:
    """The ``constraint_violations.json`` body: ``{"violations": [...]}``."""
    return {"violations": [v.to_dict() for v in violations]}
