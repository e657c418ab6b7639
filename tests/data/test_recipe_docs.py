"""docs/data.md "Serving raw columns": a recipe + XGBoost pipeline registers, is approved, deploys and answers
raw-column requests exactly as the in-process pipeline does — the example runs as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "data.md"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_raw_column_serving_example_runs_and_prints_what_it_says(home: Path) -> None:
    section = DOC.read_text().split("## Serving raw columns", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    expected = re.search(r"It prints.*?:\n\n```\n(.*?)```", section, re.S).group(1)
    done = subprocess.run([sys.executable, "-c", code], env=dict(os.environ), capture_output=True, text=True,
                          timeout=280)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == expected
