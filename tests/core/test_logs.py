"""A logger per stage; the key events are one structured line each, quiet until LOOPML_LOG_LEVEL asks for them."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loopml.core.logs import format_event
from loopml.pipelines import run

ROOT = Path(__file__).resolve().parents[2]


def test_an_event_is_one_line_of_key_value_fields() -> None:
    line = format_event("step.end", {"step": "a", "status": "FAILED", "error": 'bad "x"\nat line 2', "n": 3,
                                     "nothing": None})
    assert "\n" not in line
    assert line == 'step.end step=a status=FAILED error="bad \\"x\\"\\nat line 2" n=3 nothing=null'


def test_a_pipeline_run_logs_each_step_start_and_end(home: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="loopml")
    info = run("tests.pipelines.resources.basic:chain", executor="inline")
    events = [(r.name, r.event, r.fields.get("step")) for r in caplog.records if hasattr(r, "event")]
    assert events[0] == ("loopml.pipelines", "execution.start", None)
    for step in "abcde":
        assert ("loopml.pipelines", "step.start", step) in events
        assert ("loopml.pipelines", "step.end", step) in events
    assert events[-1] == ("loopml.pipelines", "execution.end", None)
    assert f"execution.end execution_id={info.id} status=SUCCEEDED" in caplog.text


def _gc(home: Path, **env: str) -> str:
    full = {k: v for k, v in os.environ.items() if k != "LOOPML_LOG_LEVEL"}
    full.update(LOOPML_HOME=str(home), LOOPML_USER="alice", PYTHONPATH=str(ROOT / "src"), **env)
    out = subprocess.run([sys.executable, "-m", "loopml.cli.main", "gc"], capture_output=True, text=True, env=full,
                         timeout=120, cwd=home.parent)
    assert out.returncode == 0, out.stderr
    return out.stderr


def test_the_cli_is_quiet_by_default_and_logs_key_events_at_info(home: Path) -> None:
    assert "gc.deleted" not in _gc(home)
    assert "INFO loopml.core gc.deleted blobs=0 grace_seconds=3600.0 forgotten=0" in _gc(home, LOOPML_LOG_LEVEL="INFO")
