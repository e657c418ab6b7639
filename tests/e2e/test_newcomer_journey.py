"""The newcomer's journey (issue 17): docs/first-steps.md, run as written. Every fenced block marked
``journey`` runs in order in an empty folder — Python blocks are saved under their ``file=`` name, console
blocks run line by line in bash with ``loopml`` and ``python`` on the PATH — so the page cannot drift from
the product. A command whose comment says ``# exit N`` must end with that code; every other with 0.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "first-steps.md"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

BLOCK = re.compile(r"^```(\w+) journey(?: file=(\S+))?\n(.*?)^```$", re.M | re.S)


@dataclass(frozen=True)
class Command:
    line: str
    expect: int


def journey(text: str) -> list[tuple[str, object]]:
    """The page's journey in order: ("file", (name, text)) and ("run", Command) items."""
    items: list[tuple[str, object]] = []
    for kind, name, body in BLOCK.findall(text):
        if kind == "python":
            assert name, "a python journey block needs file=NAME"
            items.append(("file", (name, body)))
            continue
        assert kind == "console", kind
        for line in body.replace("\\\n", " ").splitlines():
            if not line.startswith("$ "):
                continue  # output shown on the page
            command = line[2:].strip()
            expected = re.search(r"#\s*exit (\d+)", command)
            items.append(("run", Command(command, int(expected.group(1)) if expected else 0)))
    return items


def test_the_page_has_a_whole_journey() -> None:
    """The journey covers the loop: data, recipe, pipeline with a gate, a second approver, deploy, monitor,
    retrain (the test below runs it)."""
    lines = " ".join(c.line for kind, c in journey(PAGE.read_text()) if kind == "run")  # type: ignore[union-attr]
    for part in ("loopml data register", "loopml pipeline run", "LOOPML_USER=bob loopml model approve",
                 "loopml endpoint create", "loopml monitor run", "loopml rules create", "loopml scheduler --once",
                 "loopml endpoint update", "loopml endpoint delete"):
        assert part in lines, part
    files = dict(c for kind, c in journey(PAGE.read_text()) if kind == "file")  # type: ignore[misc]
    assert "Recipe.from_yaml" in files["churn_pipeline.py"] and "gate_challenger" in files["churn_pipeline.py"]


def _shims(folder: Path) -> Path:
    """``loopml`` and ``python`` as a newcomer's shell has them, both this interpreter with this checkout."""
    folder.mkdir()
    for name, args in (("loopml", f'"{sys.executable}" -m loopml'), ("python", f'"{sys.executable}"')):
        (folder / name).write_text(f'#!/bin/sh\nexec {args} "$@"\n')
        (folder / name).chmod(0o755)
    return folder


def test_the_newcomer_journey_runs_as_written(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    env.update(PATH=f"{_shims(tmp_path / 'bin')}{os.pathsep}{env['PATH']}", PYTHONPATH=str(ROOT / "src"),
               COLUMNS="120")
    exports: list[str] = []
    timings: list[tuple[float, str]] = []
    started = time.monotonic()

    def bash(command: str) -> subprocess.CompletedProcess[str]:
        script = "\n".join([*exports, command])
        return subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=300)

    try:
        for kind, item in journey(PAGE.read_text()):
            if kind == "file":
                name, text = item  # type: ignore[misc]
                (work / name).write_text(text)
                continue
            assert isinstance(item, Command)
            if item.line.startswith("export "):
                exports.append(item.line)
                continue
            begun = time.monotonic()
            out = bash(item.line)
            timings.append((time.monotonic() - begun, item.line[:70]))
            assert out.returncode == item.expect, (
                f"$ {item.line}\nexit {out.returncode}, the page says {item.expect}\n"
                f"--- stdout\n{out.stdout[-3000:]}\n--- stderr\n{out.stderr[-3000:]}")
            assert "Traceback" not in out.stdout + out.stderr, out.stdout + out.stderr
            if item.expect == 2:
                assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1, out.stderr
    finally:
        bash("loopml endpoint delete churn --json >/dev/null 2>&1 || true")
        total = time.monotonic() - started
        print(f"\nnewcomer journey: {total:.1f} s")
        for seconds, line in sorted(timings, reverse=True)[:8]:
            print(f"  {seconds:5.1f} s  {line}")
