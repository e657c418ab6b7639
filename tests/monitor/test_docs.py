from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "monitoring.md"


def test_documented_example_runs_and_prints_what_it_says(tmp_path, monkeypatch, capsys):
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(DOC), "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "violations ['amount', 'plan']"
    assert lines[5] == "violations 0.702"
    assert lines[-3:] == ["ALARM", "OK", "ALARM"]
    assert (tmp_path / "window-1" / "constraint_violations.json").exists()


def test_docstring_examples_hold():
    import doctest

    from loopml.monitor import alarms, attribution, bias_drift, statistics

    for module in (alarms, attribution, bias_drift, statistics):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
