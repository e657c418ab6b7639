"""Declared parameter constraints of reading and processing events: a page size outside them is refused
with scikit-learn's message (a negative limit once meant "no limit" on SQLite and an error on PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopml import events
from loopml.errors import InvalidParameter


@pytest.mark.parametrize("call", ["list_actions", "process_events"])
@pytest.mark.parametrize("value", [0, -1, 2.5, "10"])
def test_a_limit_outside_its_constraint_is_refused(home: Path, call: str, value: object) -> None:
    with pytest.raises(InvalidParameter) as caught:
        getattr(events, call)(limit=value)
    assert str(caught.value) == (f"The 'limit' parameter of {call} must be an int in the range [1, 1000000]. "
                                 f"Got {value!r} instead.")
