"""docs/models.md "SageMaker script-mode models": the example runs as written and prints what the page says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "models.md"


def test_the_script_mode_example_runs_and_prints_what_it_says() -> None:
    section = DOC.read_text().split("## SageMaker script-mode models", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    expected = re.search(r"It prints:\n\n```\n(.*?)```", section, re.S).group(1)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=100)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == expected
