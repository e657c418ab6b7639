"""The example in docs/scheduling.md runs as written and prints what the page says."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "scheduling.md"


def test_scheduling_example_runs_and_prints_what_it_says(home, capsys):
    text = DOC.read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    expected = re.search(r"It prints:\n\n```\n(.*?)```", text, re.S).group(1).splitlines()
    exec(compile(code, str(DOC), "exec"), {"__name__": "loop_example"})
    assert capsys.readouterr().out.splitlines() == expected
