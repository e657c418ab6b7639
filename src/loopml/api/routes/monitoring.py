"""Monitoring routes: schedules, monitoring executions with their reports, alarms and their history, and the
rules, events and actions (the retraining an alarm caused). Read-only over HTTP."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends

from loopml import events, monitor
from loopml.api._shapes import Filter, Id, Limit, Name, Offset, Page, one, sliced
from loopml.api.auth import Principal, authorize

router = APIRouter(tags=["monitoring"])
Caller = Annotated[Principal, Depends(authorize)]
AlarmStateName = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]


@router.get("/monitoring/schedules", response_model=Page, summary="Monitoring and pipeline schedules")
def list_schedules(caller: Caller, kind: Filter = None, limit: Limit = 50, offset: Offset = 0) -> Page:
    return sliced(monitor.list_schedules(kind=kind), limit=limit, offset=offset)


@router.get("/monitoring/schedules/{name}", summary="One schedule")
def get_schedule(name: Name, caller: Caller) -> dict[str, Any]:
    return one(monitor.get_schedule(name))


@router.get("/monitoring/executions", response_model=Page, summary="Monitoring executions, newest window first")
def list_monitoring_executions(caller: Caller, schedule: Filter = None, endpoint: Filter = None,
                               limit: Limit = 50, offset: Offset = 0) -> Page:
    found = monitor.list_executions(schedule=schedule, endpoint=endpoint, limit=offset + limit)
    return sliced(found, limit=limit, offset=offset)


@router.get("/monitoring/executions/{execution_id}", summary="One monitoring execution with its report")
def get_monitoring_execution(execution_id: Id, caller: Caller) -> dict[str, Any]:
    found = monitor.get_execution(execution_id)
    return {**one(found), "report": monitor.read_report(found),
            "constraint_violations": monitor.read_report(found, violations=True)}


@router.get("/alarms", response_model=Page, summary="Alarms and their state")
def list_alarms(caller: Caller, state: AlarmStateName | None = None, limit: Limit = 50, offset: Offset = 0) -> Page:
    return sliced(monitor.list_alarms(state=state), limit=limit, offset=offset)


@router.get("/alarms/{name}", summary="One alarm with its state history")
def get_alarm(name: Name, caller: Caller) -> dict[str, Any]:
    return {**one(monitor.get_alarm(name)), "history": [one(h) for h in monitor.alarm_history(name)]}


@router.get("/rules", response_model=Page, summary="Event rules (e.g. retrain on drift)")
def list_rules(caller: Caller, limit: Limit = 50, offset: Offset = 0) -> Page:
    return sliced(events.list_rules(), limit=limit, offset=offset)


@router.get("/rules/{name}", summary="One rule with the actions it took")
def get_rule(name: Name, caller: Caller) -> dict[str, Any]:
    return {**one(events.get_rule(name)), "actions": [one(a) for a in events.list_actions(rule=name, limit=50)]}


@router.get("/events", response_model=Page, summary="Events, oldest first after a sequence number")
def list_events(caller: Caller, after: Offset = 0, detail_type: Filter = None, limit: Limit = 50) -> Page:
    found = events.list_events(after=after, limit=limit, detail_type=detail_type)
    return sliced(found, limit=limit, offset=0)
