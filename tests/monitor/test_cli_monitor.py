"""The ``loopml monitor`` / ``alarms`` / ``rules`` commands, mounted as the lead will mount them."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from loopml.cli import monitor as cli
from loopml.errors import ValidationError
from tests.monitor.conftest import make_frame

app = typer.Typer()
app.add_typer(cli.app, name="monitor")
app.add_typer(cli.alarms_app, name="alarms")
app.add_typer(cli.rules_app, name="rules")
runner = CliRunner()


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout  # stderr carries log lines (a violation is a WARNING)


def test_baseline_schedule_run_and_list(home, tmp_path):
    make_frame(500, 1).to_csv(tmp_path / "train.csv", index=False)
    doc = json.loads(_ok("monitor", "baseline", str(tmp_path / "train.csv"), "--out", str(tmp_path / "bl"), "--json"))
    assert (tmp_path / "bl" / "statistics.json").exists() and doc["features"] == ["amount", "count", "plan"]
    from loopml import monitor

    monitor.create_monitoring_schedule("dq", "ep", statistics=doc["statistics"], constraints=doc["constraints"],
                                       interval_seconds=3600, check_signature=False)
    assert "dq" in _ok("monitor", "schedules")
    run = runner.invoke(app, ["monitor", "run", "dq", "--json"], catch_exceptions=False)
    assert run.exit_code == 0 and json.loads(run.output)["result"] == "insufficient_data"
    assert json.loads(_ok("monitor", "executions", "--json"))[0]["schedule"] == "dq"


def test_bad_cron_is_an_error_at_creation(home):
    try:
        runner.invoke(app, ["monitor", "schedule-pipeline", "p", "-p", "m:f", "--cron", "every day"],
                      catch_exceptions=False)
    except ValidationError as exc:
        assert "cron expression" in exc.message
    else:
        raise AssertionError("a bad cron expression was accepted")


def test_alarms_and_rules_commands(home):
    _ok("alarms", "put", "drift", "--source", "schedule:dq", "--metric", "violations", "--threshold", "0",
        "-m", "2", "-n", "3")
    assert json.loads(_ok("alarms", "list", "--json"))[0]["datapoints_to_alarm"] == 2
    _ok("rules", "put", "log-drift", "--pattern", '{"detail": {"state": ["ALARM"]}}',
        "-a", '{"type": "log", "message": "drift"}', "--cooldown", "60")
    assert "log-drift" in _ok("rules", "list")
    from loopml import events

    events.emit("Alarm State Change", source="loopml.monitor", resource="alarm:drift", detail={"state": "ALARM"})
    events.process_events()
    out = _ok("monitor", "events")
    assert "Alarm State Change" in out and "rule log-drift" in out
