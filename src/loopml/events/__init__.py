"""Events and rules (EventBridge for the loop): an alarm or a failed gate emits an event; rules map event
patterns to actions (start a retraining pipeline, call a webhook, write a log line) with a cooldown, and
every action is recorded with the event that caused it.

    from loopml import events
    events.put_rule("retrain-on-drift", {"detail-type": ["Alarm State Change"], "detail": {"state": ["ALARM"]}},
                    [{"type": "pipeline", "pipeline": "examples.churn:retrain"}], cooldown_seconds=3600)
    events.emit("Alarm State Change", source="loopml.monitor", resource="alarm:x", detail={"state": "ALARM"})
    events.process_events()
"""

from __future__ import annotations

from loopml.core.bus import Event, emit, get_event, list_events
from loopml.events.patterns import matches
from loopml.events.rules import (
    ActionRecord,
    Rule,
    delete_rule,
    get_rule,
    list_actions,
    list_rules,
    process_events,
    put_rule,
)

__all__ = [
    "ActionRecord", "Event", "Rule", "delete_rule", "emit", "get_event", "get_rule", "list_actions", "list_events",
    "list_rules", "matches", "process_events", "put_rule",
]
