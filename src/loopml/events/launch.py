"""``python -m loopml.events.launch ACTION_ID``: run a rule's pipeline action detached, record the outcome."""

from __future__ import annotations

import sys

from loopml.events import actions as _actions
from loopml.events.rules import finish_action, get_action


def main(action_id: str) -> int:
    """Run the pipeline of action ``action_id`` and update its row; returns the exit status."""
    _, spec, event = get_action(action_id)
    try:
        result = _actions.run_pipeline(spec, event)
    except Exception as exc:  # recorded on the action row; the launcher always leaves a terminal state
        finish_action(action_id, "FAILED", {"error": f"{type(exc).__name__}: {exc}"})
        return 1
    status = "SUCCEEDED" if result["execution_status"] == "SUCCEEDED" else "FAILED"
    finish_action(action_id, status, result)
    return 0 if status == "SUCCEEDED" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
