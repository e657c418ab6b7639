"""The contract every monitor kind must honour: its report speaks one language of outcomes.

A kind is exercised through a :class:`MonitorCase`: three runs of its check, on a window like its
baseline, on a window shifted away from it, and on a window with too little data. Every report has a
``status`` of ``ok``, ``violations`` or ``insufficient_data`` and a tuple of ``violations`` whose
``to_dict()`` documents name the check; a window like the baseline passes, a shifted one is flagged, and
too little data is never reported as a violation (no alarm on an empty hour).
``tests/contract/test_monitors.py`` builds a case for every monitor kind.

Usage: ``from loopml.testing.monitor_contract import CONTRACT, MonitorCase``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

OK, VIOLATIONS, INSUFFICIENT_DATA = "ok", "violations", "insufficient_data"


@dataclass(frozen=True)
class MonitorCase:
    """Three runs of one monitor kind's check (each returns its report)."""

    kind: str
    like_baseline: Callable[[], Any]
    shifted: Callable[[], Any]
    too_little: Callable[[], Any]


Check = Callable[[MonitorCase], None]


def _shape(report: Any) -> None:
    assert report.status in (OK, VIOLATIONS, INSUFFICIENT_DATA), report.status
    for violation in report.violations:
        doc = violation.to_dict()
        assert doc["constraint_check_type"] and doc["description"], doc


def a_window_like_the_baseline_passes(case: MonitorCase) -> None:
    report = case.like_baseline()
    _shape(report)
    assert report.status == OK and not report.violations, (case.kind, report.status, report.violations)


def a_shifted_window_is_flagged_with_a_described_violation(case: MonitorCase) -> None:
    report = case.shifted()
    _shape(report)
    assert report.status == VIOLATIONS and report.violations, (case.kind, report.status)


def too_little_data_is_insufficient_never_a_violation(case: MonitorCase) -> None:
    report = case.too_little()
    _shape(report)
    assert report.status == INSUFFICIENT_DATA and not report.violations, (case.kind, report.status)


CONTRACT: list[Check] = [
    a_window_like_the_baseline_passes,
    a_shifted_window_is_flagged_with_a_described_violation,
    too_little_data_is_insufficient_never_a_violation,
]
"""Every check, in a stable order."""
