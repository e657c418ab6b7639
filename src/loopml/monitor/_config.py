"""One feature's effective ``monitoring_config``: the file's, with its ``monitoringConfigOverrides`` applied.

Model Monitor's ``constraints.json`` has one ``monitoring_config`` and, per feature, a
``monitoringConfigOverrides`` object (empty as the baseline job writes it). An override may name any key of
``monitoring_config`` either where it lives (``{"distribution_constraints": {"comparison_threshold": 0.2}}``)
or flat (``{"comparison_threshold": 0.2}``); keys it does not name keep the file's value, and keys the
file lacks keep Model Monitor's defaults. A string feature without ``categorical_comparison_threshold``
uses ``comparison_threshold``, as Model Monitor documents.
"""

from __future__ import annotations

from typing import Any

from loopml.monitor.statistics import monitoring_config

DISTRIBUTION_KEYS = ("perform_comparison", "comparison_threshold", "comparison_method",
                     "categorical_comparison_threshold", "categorical_drift_method")


def feature_config(config: dict[str, Any] | None, constraint: dict[str, Any] | None) -> dict[str, Any]:
    """The effective config of one feature (a new dict; the inputs are not changed)."""
    defaults = monitoring_config()
    defaults["distribution_constraints"].pop("categorical_comparison_threshold")
    out = _merged(defaults, config or {})
    return _merged(out, (constraint or {}).get("monitoringConfigOverrides") or {})


def drift_threshold(config: dict[str, Any], *, categorical: bool) -> Any:
    """The L-infinity threshold of a feature under ``config`` (from :func:`feature_config`)."""
    section = config["distribution_constraints"]
    if categorical and section.get("categorical_comparison_threshold") is not None:
        return section["categorical_comparison_threshold"]
    return section.get("comparison_threshold", 0.1)


def _merged(base: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
    out = {**base, "distribution_constraints": dict(base.get("distribution_constraints") or {})}
    for key, value in layer.items():
        if key == "distribution_constraints" and isinstance(value, dict):
            out["distribution_constraints"].update(value)
        elif key in DISTRIBUTION_KEYS:
            out["distribution_constraints"][key] = value
        else:
            out[key] = value
    return out
