"""`loopml demo`: the whole loop, unattended, from an empty home — and nothing left running afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _loopml(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOOPML_HOME": str(home), "COLUMNS": "200"}
    env.pop("LOOPML_USER", None)
    return subprocess.run([sys.executable, "-m", "loopml.cli.main", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=600)


def _children_in(home: Path) -> list[str]:
    found = []
    for proc in psutil.process_iter(["cmdline", "environ"]):
        try:
            if (proc.info["environ"] or {}).get("LOOPML_HOME") == str(home):
                found.append(" ".join(proc.info["cmdline"] or []))
        except (psutil.Error, TypeError):
            continue
    return found


def test_the_whole_loop_runs_unattended(tmp_path: Path) -> None:
    home = tmp_path / "demo-home"
    out = _loopml("demo", home=home)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout
    assert "steps were cache hits" in text
    assert "separation of duties: dana registered churn:1" in text
    assert "alarm churn-input-drift: OK → ALARM" in text
    assert "rule retrain-on-drift: pipeline SUCCEEDED" in text
    assert "challenger churn:2 passed the gate against churn:1" in text
    assert "endpoint churn now serves churn:2 (0 failed requests)" in text
    assert "approved by abe" in text
    assert _children_in(home) == []
    assert _loopml("audit", "verify", home=home).returncode == 0
    lineage = _loopml("lineage", "model", "churn@approved", "--json", home=home)
    assert '"by": "abe"' in lineage.stdout and "churn_customers" in lineage.stdout
    again = _loopml("demo", home=home)
    assert again.returncode == 2 and "already holds models" in again.stderr
