"""The monitor kinds a schedule can run, as one lazy table (``monitor_type`` -> the check it runs).

Each row names a pure check function (``module:function``, imported only when used) that takes one window
and returns a report with a ``status`` of ``ok``, ``violations`` or ``insufficient_data`` and a tuple of
``violations``; every row passes :mod:`loopml.testing.monitor_contract`. The scheduler
(``monitor._checks_service``) feeds each kind its window from captured traffic and the schedule's settings.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from loopml.errors import ValidationError

MONITORS: dict[str, str] = {
    "data_quality": "loopml.monitor.data_quality:check_data_quality",
    "model_quality": "loopml.monitor.model_quality:check_model_quality",
    "bias_drift": "loopml.monitor.bias_drift:check_bias_drift",
    "attribution_drift": "loopml.monitor.attribution:check_attribution_drift",
}
"""Monitor kinds by ``monitor_type``: module paths as data, imported only when a kind is checked."""


def monitor_check(kind: str) -> Callable[..., Any]:
    """The check function of monitor kind ``kind`` (a row of :data:`MONITORS`).

    Raises:
        ValidationError: ``kind`` is not a row of :data:`MONITORS`.
    """
    if kind not in MONITORS:
        raise ValidationError(f"monitor_type {kind!r} is not one of {list(MONITORS)}", monitor_type=kind)
    module, _, function = MONITORS[kind].partition(":")
    check: Callable[..., Any] = getattr(import_module(module), function)
    return check
