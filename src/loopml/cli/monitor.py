"""``loopml monitor`` (baselines, schedules, executions, events), ``loopml alarms``, ``loopml rules`` and
``loopml scheduler``. Thin: parse, call :mod:`loopml.monitor` / :mod:`loopml.events`, render."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from loopml.cli._render import ago, console, done, line, print_json, print_table, styled

app = typer.Typer(no_args_is_help=True, add_completion=False)
alarms_app = typer.Typer(no_args_is_help=True, add_completion=False)
rules_app = typer.Typer(no_args_is_help=True, add_completion=False)
_JSON = typer.Option(False, "--json", help="Print as JSON.")


def _json_arg(text: str | None, what: str) -> Any:
    from loopml.core import userfiles
    from loopml.errors import ValidationError

    if not text:
        return None
    if text.startswith("@"):
        text = userfiles.read_text(text[1:], f"{what} file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{what} is not valid JSON ({exc.msg}); give JSON text or @file.json") from exc


def _when(text: str | None) -> datetime | None:
    from loopml.core import clock
    from loopml.errors import ValidationError

    if not text:
        return None
    try:
        return clock.as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError as exc:
        raise ValidationError(f"time {text!r} is not ISO 8601; e.g. 2026-11-29T06:00:00Z") from exc


@app.command("baseline")
def baseline(
    source: str = typer.Argument(..., help="Dataset (churn or churn@3), CSV/Parquet file, or model:GROUP:VERSION."),
    out: Path = typer.Option(Path("baseline"), "--out", "-o", help="Folder for statistics.json / constraints.json."),
    exclude: list[str] = typer.Option([], "--exclude", "-x", help="Column to leave out (repeatable)."),
    threshold: float = typer.Option(0.1, help="Largest L-infinity distance allowed (numeric features)."),
    json_out: bool = _JSON,
) -> None:
    """Profile a baseline into Model Monitor statistics.json and constraints.json (stored and written)."""
    from loopml.monitor import create_baseline

    result = create_baseline(source, exclude=exclude, folder=out, comparison_threshold=threshold)
    if json_out:
        print_json(result.to_dict())
        return
    console.print(f"baseline of {result.source}: {result.item_count} rows, {len(result.features)} features")
    console.print(f"  statistics  {result.statistics_digest}\n  constraints {result.constraints_digest}")
    console.print(f"  files in {out}/ (edit and store again with 'loopml monitor baseline-store {out}')")


@app.command("baseline-store")
def baseline_store(folder: Path = typer.Argument(..., help="Folder with statistics.json and constraints.json."),
                   json_out: bool = _JSON) -> None:
    """Store (hand-edited) baseline files and print their digests."""
    from loopml.monitor import store_baseline_files

    result = store_baseline_files(folder)
    print_json(result.to_dict()) if json_out else console.print(
        f"statistics {result.statistics_digest}\nconstraints {result.constraints_digest}")


@app.command("schedule")
def schedule(
    name: str = typer.Argument(..., help="Schedule name."),
    endpoint: str = typer.Option(..., "--endpoint", "-e", help="Endpoint whose captured traffic is checked."),
    monitor_type: str = typer.Option("data_quality", "--type", "-t",
                                     help="data_quality, model_quality, bias_drift or attribution_drift."),
    cron: str = typer.Option(None, help="Cron expression (UTC), e.g. '0 * * * *'."),
    every: float = typer.Option(None, "--every", help="Interval in seconds (instead of --cron)."),
    window: float = typer.Option(3600.0, help="Window length in seconds."),
    statistics: str = typer.Option(None, help="sha256 digest of the baseline statistics.json."),
    constraints: str = typer.Option(None, help="sha256 digest of the baseline constraints.json."),
    baseline_folder: Path = typer.Option(None, "--baseline", help="Folder with statistics.json and "
                                         "constraints.json (e.g. what a Model Monitor baselining job wrote); "
                                         "stored, then used instead of the two digests."),
    thresholds: str = typer.Option(None, help="Thresholds as JSON (or @file.json)."),
    settings: str = typer.Option(None, help="Type-specific settings as JSON (or @file.json)."),
    capture_uri: str = typer.Option(None, "--capture-uri", help="Read capture from this folder in SageMaker's "
                                    "layout (a SageMaker endpoint's DestinationS3Uri: s3://bucket/prefix)."),
    ground_truth_uri: str = typer.Option(None, "--ground-truth-uri", help="Also read labels from this folder "
                                         "(<uri>/yyyy/mm/dd/hh/*.jsonl, as Model Monitor expects)."),
    json_out: bool = _JSON,
) -> None:
    """Create a monitoring schedule on an endpoint (the baseline must match its model's signature)."""
    from loopml.monitor import create_monitoring_schedule, store_baseline_files

    if baseline_folder is not None:
        stored = store_baseline_files(baseline_folder)
        statistics, constraints = stored.statistics_digest, stored.constraints_digest
    sched = create_monitoring_schedule(
        name, endpoint, monitor_type=monitor_type, cron=cron, interval_seconds=every, window_seconds=window,
        statistics=statistics, constraints=constraints, thresholds=_json_arg(thresholds, "--thresholds"),
        settings=_json_arg(settings, "--settings"), capture_uri=capture_uri, ground_truth_uri=ground_truth_uri)
    print_json(sched.to_dict()) if json_out else console.print(f"created monitoring schedule {sched.name}")


@app.command("schedule-pipeline")
def schedule_pipeline(
    name: str = typer.Argument(..., help="Schedule name."),
    pipeline: str = typer.Option(..., "--pipeline", "-p", help="MODULE:NAME or file.py:NAME."),
    cron: str = typer.Option(None, help="Cron expression (UTC)."),
    every: float = typer.Option(None, "--every", help="Interval in seconds."),
    params: str = typer.Option(None, help="Parameters as JSON."),
    json_out: bool = _JSON,
) -> None:
    """Schedule a pipeline (scheduled retraining)."""
    from loopml.monitor import create_pipeline_schedule

    sched = create_pipeline_schedule(name, pipeline, cron=cron, interval_seconds=every,
                                     params=_json_arg(params, "--params"))
    print_json(sched.to_dict()) if json_out else console.print(f"created pipeline schedule {sched.name}")


@app.command("schedules")
def schedules(json_out: bool = _JSON) -> None:
    """List schedules."""
    from rich.table import Table

    from loopml.monitor import list_schedules

    rows = list_schedules()
    if json_out:
        print_json([s.to_dict() for s in rows])
        return
    table = Table("name", "kind", "when", "target", "enabled", box=None, header_style="bold")
    for s in rows:
        when = s.cron or f"every {s.interval_seconds:g}s"
        target = s.config.get("endpoint") or s.config.get("pipeline")
        kind = s.config.get("monitor_type", s.kind)
        table.add_row(s.name, kind, when, str(target), "yes" if s.enabled else "paused")
    print_table(table)


_SCHEDULE = typer.Argument(..., help="The schedule name (from 'loopml monitor schedules').")


@app.command("pause")
def pause(name: str = _SCHEDULE, json_out: bool = _JSON) -> None:
    """Pause a schedule."""
    from loopml.monitor import set_enabled

    set_enabled(name, False)
    done(json_out, {"schedule": name, "enabled": False}, f"paused {name}")


@app.command("resume")
def resume(name: str = _SCHEDULE, json_out: bool = _JSON) -> None:
    """Resume a paused schedule."""
    from loopml.monitor import set_enabled

    set_enabled(name, True)
    done(json_out, {"schedule": name, "enabled": True}, f"resumed {name}")


@app.command("delete")
def delete_schedule(name: str = _SCHEDULE, json_out: bool = _JSON) -> None:
    """Delete a schedule (its executions stay)."""
    from loopml.monitor import delete_schedule as delete

    delete(name)
    done(json_out, {"schedule": name, "deleted": True}, f"deleted schedule {name}")


app.command("delete-schedule", hidden=True, help="Same as 'loopml monitor delete'.")(delete_schedule)


@app.command("run")
def run(
    name: str = typer.Argument(..., help="Monitoring schedule to run now."),
    start: str = typer.Option(None, help="Window start (ISO 8601, UTC); default end minus the window."),
    end: str = typer.Option(None, help="Window end (ISO 8601, UTC); default now."),
    out: Path = typer.Option(None, "--out", "-o", help="Also write statistics.json, constraints.json and "
                             "constraint_violations.json there, as a Model Monitor execution does."),
    json_out: bool = _JSON,
) -> None:
    """Run one monitoring window now. Exit 1 when it found violations.

    A window that ends within the last few minutes first flushes the endpoint's capture spool, so every
    request captured before the run is seen.
    """
    from loopml.monitor import run_monitor, write_report_files

    ex = run_monitor(name, window_start=_when(start), window_end=_when(end))
    written = write_report_files(ex, out) if out else []
    if json_out:
        print_json({**ex.to_dict(), "files": [str(p) for p in written]})
    else:
        console.print(line(f"{ex.id} ", styled(ex.status), f" result={ex.result} items={ex.item_count} "
                      f"violations={ex.violations} {_decoded(ex)}" + (f" ({ex.message})" if ex.message else "")))
        for path in written:
            console.print(f"  wrote {path}")
    raise typer.Exit(1 if ex.violations else 0)


def _decoded(ex: Any) -> str:
    """``undecodable=N`` (captured records in the window the monitor could not decode)."""
    return f"undecodable={int(ex.metrics.get('undecodable_records') or 0)}"


@app.command("report")
def report(execution_id: str = typer.Argument(..., help="A monitoring execution (mex_...)."),
           out: Path = typer.Option(..., "--out", "-o", help="Folder for the Model Monitor files."),
           json_out: bool = _JSON) -> None:
    """Write an execution's statistics.json, constraints.json and constraint_violations.json."""
    from loopml.monitor import get_execution, write_report_files

    written = [str(path) for path in write_report_files(get_execution(execution_id), out)]
    done(json_out, {"execution": execution_id, "files": written}, "\n".join(f"wrote {path}" for path in written))


@app.command("executions")
def executions(schedule: str = typer.Option(None, help="Only this schedule."),
               endpoint: str = typer.Option(None, help="Only this endpoint."),
               limit: int = typer.Option(20), json_out: bool = _JSON) -> None:
    """List monitoring executions, newest window first."""
    from rich.table import Table

    from loopml.monitor import list_executions

    rows = list_executions(schedule=schedule, endpoint=endpoint, limit=limit)
    if json_out:
        print_json([r.to_dict() for r in rows])
        return
    table = Table("execution", "schedule", "type", "window end", "status", "result", "violations", "undecodable",
                  box=None, header_style="bold")
    for r in rows:
        table.add_row(r.id, r.schedule or "-", r.monitor_type, ago(r.window_end), r.status, r.result, str(r.violations),
                      str(int(r.metrics.get("undecodable_records") or 0)))
    print_table(table)


@app.command("violations")
def violations(execution_id: str = typer.Argument(..., help="A monitoring execution (mex_...)."),
               json_out: bool = typer.Option(False, "--json", help="Print constraint_violations.json as it is.")
               ) -> None:
    """An execution's violations, one a line (--json: its constraint_violations.json)."""
    from loopml.monitor import get_execution, read_report

    found = read_report(get_execution(execution_id), violations=True)
    if json_out:
        print_json(found)
        return
    rows = found.get("violations", []) if isinstance(found, dict) else []
    for v in rows:
        console.print(f"{v.get('feature_name', '-')}: {v.get('constraint_check_type', '-')} — {v.get('description', '')}")
    if not rows:
        console.print(f"{execution_id}: no violations")


@app.command("events")
def events_(after: int = typer.Option(0, help="Only events after this sequence number."),
            limit: int = typer.Option(50), json_out: bool = _JSON) -> None:
    """List events (alarm state changes, gate failures...) with the actions rules took."""
    from loopml import events

    rows = events.list_events(after=after, limit=limit)
    if json_out:
        print_json([e.to_dict() for e in rows])
        return
    for e in rows:
        console.print(f"{e.seq:>5} {ago(e.created_at)} {e.detail_type} {e.resource} {json.dumps(e.detail)[:100]}")
        for a in events.list_actions(event_id=e.id):
            console.print(line(f"        -> rule {a.rule} {a.kind} ", styled(a.status), f" {json.dumps(a.result)[:80]}"))


@alarms_app.command("create")
def alarm_put(
    name: str = typer.Argument(...),
    source: str = typer.Option(..., help="endpoint:NAME or schedule:NAME."),
    metric: str = typer.Option(..., help="p99_latency_ms, error_rate, invocations, violations, a metric name."),
    threshold: float = typer.Option(...),
    comparison: str = typer.Option("GreaterThanThreshold"),
    m: int = typer.Option(1, "--datapoints-to-alarm", "-m", help="M breaching periods ..."),
    n: int = typer.Option(1, "--evaluation-periods", "-n", help="... out of the last N."),
    period: float = typer.Option(300.0, help="Period length in seconds."),
    statistic: str = typer.Option("Maximum"),
    missing: str = typer.Option("missing", help="missing, ignore, breaching or notBreaching."),
    replace: bool = typer.Option(False, "--replace", help="Redefine an alarm that exists."),
    json_out: bool = _JSON,
) -> None:
    """Create an alarm (--replace: redefine one)."""
    from loopml.monitor import put_alarm

    info = put_alarm(name, source=source, metric=metric, threshold=threshold, comparison=comparison,
                     datapoints_to_alarm=m, evaluation_periods=n, period_seconds=period, statistic=statistic,
                     treat_missing_data=missing, replace=replace)
    done(json_out, info.to_dict(), f"alarm {info.name}: {info.state}")


@alarms_app.command("list")
def alarm_list(json_out: bool = _JSON) -> None:
    """List alarms with their states."""
    from loopml.monitor import list_alarms

    rows = list_alarms()
    if json_out:
        print_json([a.to_dict() for a in rows])
        return
    for a in rows:
        console.print(f"{a.name:<24} {a.state:<18} {a.source} {a.metric} {a.alarm.comparison} {a.alarm.threshold:g} "
                      f"({a.alarm.datapoints_to_alarm} of {a.alarm.evaluation_periods})")


@alarms_app.command("history")
def alarm_history(name: str = typer.Argument(..., help="The alarm name."), json_out: bool = _JSON) -> None:
    """State transitions of an alarm, newest first."""
    from loopml.monitor import alarm_history as history

    rows = history(name)
    _transitions(rows, json_out, lambda t: t["at"][:19], f"alarm {name} has not changed state")


@alarms_app.command("evaluate")
def alarm_evaluate(json_out: bool = _JSON) -> None:
    """Evaluate every alarm now and print the transitions."""
    from loopml.monitor import evaluate_alarms

    _transitions([t.__dict__ for t in evaluate_alarms()], json_out, lambda t: f"{t['alarm']}:",
                 "no alarm changed state")


def _transitions(rows: list[dict[str, Any]], json_out: bool, lead: Any, empty: str) -> None:
    """Alarm state changes, one a line (or as JSON)."""
    if json_out:
        print_json(rows)
        return
    for t in rows:
        console.print(f"{lead(t)}  {t['old_state']} → {t['new_state']}  {t['reason']}")
    if not rows:
        console.print(empty)


@alarms_app.command("delete")
def alarm_delete(name: str = typer.Argument(..., help="The alarm name."), json_out: bool = _JSON) -> None:
    """Delete an alarm."""
    from loopml.monitor import delete_alarm

    delete_alarm(name)
    done(json_out, {"alarm": name, "deleted": True}, f"deleted alarm {name}")


@rules_app.command("create")
def rule_put(
    name: str = typer.Argument(...),
    pattern: str = typer.Option(..., help='Event pattern JSON, e.g. {"detail": {"state": ["ALARM"]}}.'),
    action: list[str] = typer.Option(..., "--action", "-a", help="Action JSON (repeatable)."),
    cooldown: float = typer.Option(3600.0, help="Seconds the rule stays quiet after acting."),
    replace: bool = typer.Option(False, "--replace", help="Replace a rule that exists."),
    json_out: bool = _JSON,
) -> None:
    """Create an event rule (--replace: replace one)."""
    from loopml import events

    rule = events.put_rule(name, _json_arg(pattern, "--pattern"), [_json_arg(a, "--action") for a in action],
                           cooldown_seconds=cooldown, replace=replace)
    done(json_out, rule.__dict__, f"rule {rule.name}: {len(rule.actions)} action(s), cooldown {rule.cooldown_seconds:g}s")


@rules_app.command("list")
def rule_list(json_out: bool = _JSON) -> None:
    """List rules."""
    from loopml import events

    rows = events.list_rules()
    if json_out:
        print_json([r.__dict__ for r in rows])
        return
    for r in rows:
        console.print(f"{r.name:<24} {json.dumps(r.pattern)} -> {[a['type'] for a in r.actions]} "
                      f"cooldown {r.cooldown_seconds:g}s")


@rules_app.command("actions")
def rule_actions(rule: str = typer.Option(None), json_out: bool = _JSON) -> None:
    """Actions rules took, newest first, each with its event."""
    from loopml import events

    rows = events.list_actions(rule=rule)
    if json_out:
        print_json([a.__dict__ for a in rows])
        return
    for a in rows:
        console.print(line(f"{ago(a.created_at)} {a.rule} event={a.event_id} {a.kind} ", styled(a.status), f" {json.dumps(a.result)[:80]}"))


@rules_app.command("delete")
def rule_delete(name: str = typer.Argument(..., help="The rule name."), json_out: bool = _JSON) -> None:
    """Delete a rule."""
    from loopml import events

    events.delete_rule(name)
    done(json_out, {"rule": name, "deleted": True}, f"deleted rule {name}")


def scheduler(
    once: bool = typer.Option(False, "--once", help="Run whatever is due once and exit (tests, cron)."),
    poll: float = typer.Option(10.0, "--poll", help="Seconds between ticks."),
) -> None:
    """Run the scheduler: monitoring and pipeline schedules, alarms, event rules. Stops on SIGTERM."""
    import logging

    from loopml.core import checks
    from loopml.monitor import scheduler as sched

    checks.number(poll, "--poll", above=0, high=86400)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if once:
        result = sched.tick()
        print_json({"ran": [r.__dict__ for r in result.ran], "reaped": result.reaped,
                    "transitions": [t.__dict__ for t in result.transitions],
                    "actions": [a.__dict__ for a in result.actions], "errors": result.errors})
        return
    console.print(f"scheduler running (tick every {poll:g}s); Ctrl-C or SIGTERM to stop")
    ticks = sched.run(poll_seconds=poll)
    console.print(f"scheduler stopped after {ticks} ticks")


alarms_app.command("put", hidden=True, help="Same as 'loopml alarms create'.")(alarm_put)
rules_app.command("put", hidden=True, help="Same as 'loopml rules create'.")(rule_put)
