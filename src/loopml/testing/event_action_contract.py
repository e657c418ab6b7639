"""The contract every event action kind (a row of :data:`loopml.events.actions.ACTIONS`) must honour.

A kind is exercised through an :class:`ActionCase`: a spec that is valid (and, where the environment
allows, succeeds), a spec that ``check`` refuses, and a spec whose ``perform`` fails. Each check takes the
case (with a loopml home set up) and raises AssertionError on a violation.
``tests/contract/test_event_actions.py`` runs every check over every kind: pipeline, webhook, deploy, log.

Usage: ``from loopml.testing.event_action_contract import CONTRACT, ActionCase``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from loopml.core.bus import Event
from loopml.errors import ValidationError
from loopml.events.actions import check_action, perform


@dataclass(frozen=True)
class ActionCase:
    """Specs of one action kind for the contract.

    Attributes:
        kind: the ``type`` under test.
        valid: a spec ``check`` accepts.
        broken: a spec ``check`` must refuse (a missing or wrong field).
        failing: a valid spec whose ``perform`` fails (a missing target, a refused address...); None for
            a kind that fails only when its environment does (log: a full disk).
        succeeds: whether ``valid`` can succeed here (False where it needs what a test cannot start,
            e.g. a running endpoint).
    """

    kind: str
    valid: dict[str, Any]
    broken: dict[str, Any]
    failing: dict[str, Any] | None
    succeeds: bool = True


Check = Callable[[ActionCase], None]


def sample_event(**detail: Any) -> Event:
    """An alarm event as the monitor emits it (not stored on the bus)."""
    return Event("ev_contract", 1, "loopml.monitor", "Alarm State Change", "alarm:contract",
                 {"state": "ALARM", **detail}, "alice", datetime.now(UTC))


def _outcome(spec: dict[str, Any], event: Event) -> tuple[str, dict[str, Any]]:
    status, result = perform(spec, event, action_id=f"act_contract_{spec['type']}")
    assert status in ("STARTED", "SUCCEEDED", "FAILED"), status
    json.dumps(result)  # the result is stored as JSON
    return status, result


def check_accepts_a_valid_spec_and_returns_it(case: ActionCase) -> None:
    assert case.valid["type"] == case.kind
    assert check_action(dict(case.valid)) == case.valid


def check_refuses_a_broken_spec_saying_what_is_wrong(case: ActionCase) -> None:
    try:
        check_action(dict(case.broken))
    except ValidationError as exc:
        assert str(exc) and "Traceback" not in str(exc)
    else:
        raise AssertionError(f"{case.kind}: check accepted {case.broken!r}")


def a_valid_action_succeeds_or_starts(case: ActionCase) -> None:
    if not case.succeeds:
        return
    status, result = _outcome(case.valid, sample_event(model="churn@approved"))
    assert status in ("SUCCEEDED", "STARTED"), result


def a_failing_action_is_recorded_as_failed_never_raised(case: ActionCase) -> None:
    if case.failing is None:
        return
    check_action(dict(case.failing))
    status, result = _outcome(case.failing, sample_event(model="churn@approved"))
    assert status == "FAILED", result
    assert result.get("error") or result.get("status_code") or result.get("execution_status"), result


def an_unknown_type_is_refused_naming_the_kinds(case: ActionCase) -> None:
    try:
        check_action({**case.valid, "type": case.kind + "-nope"})
    except ValidationError as exc:
        assert case.kind in str(exc)
    else:
        raise AssertionError("an unknown action type was accepted")


CONTRACT: list[Check] = [
    check_accepts_a_valid_spec_and_returns_it,
    check_refuses_a_broken_spec_saying_what_is_wrong,
    a_valid_action_succeeds_or_starts,
    a_failing_action_is_recorded_as_failed_never_raised,
    an_unknown_type_is_refused_naming_the_kinds,
]
"""Every check, in a stable order."""
