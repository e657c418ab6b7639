"""The runnable examples: the tuned churn variant registers its best trial."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_tuned_variant_example_runs(tmp_path: Path) -> None:
    env = {"LOOPML_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "churn" / "tune.py"), "2"], capture_output=True,
                         text=True, env=env, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "registered churn-tuned:1 (PendingManualApproval)" in out.stdout
