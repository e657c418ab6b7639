"""The command line: one-line errors with exit code 2, --json output, fast --help."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOOPML = [sys.executable, "-m", "loopml.cli.main"]


def cli(*args: str, home: Path, cwd: Path | None = None, check: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOOPML_HOME": str(home), "LOOPML_USER": "alice", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([*LOOPML, *args], capture_output=True, text=True, env=env, cwd=cwd or ROOT, timeout=120)
    if check:
        assert out.returncode == 0, out.stderr
    return out


def test_help_is_fast_and_lists_the_commands() -> None:
    start = time.perf_counter()
    out = subprocess.run([*LOOPML, "--help"], capture_output=True, text=True, check=True)
    assert time.perf_counter() - start < 2.0  # the 0.5 s budget is measured in bench/, not here
    for command in ("pipeline", "demo", "init", "audit", "users", "fsck"):
        assert command in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["pipeline", "run", "tests.pipelines.resources.basic:five", "-p", "bogus=1"], "has no parameter 'bogus'"),
        (["pipeline", "run", "tests.pipelines.resources.basic:five", "-p", "n_rows=abc"], "expects int, got 'abc'"),
        (["pipeline", "run", "no_such_module:p"], "cannot import module 'no_such_module'"),
        (["pipeline", "run", "tests.pipelines.resources.basic:five", "-p", "oops"], "must be NAME=VALUE"),
        (["pipeline", "show", "pe_nope"], "no pipeline execution 'pe_nope'"),
        (["users", "grant", "bob", "wizard"], "unknown role 'wizard'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    out = cli(*args, home=tmp_path / "home")
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) <= 2


def test_run_show_list_as_json(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run = cli("pipeline", "run", "tests.pipelines.resources.basic:chain", "--json", "-e", "inline", home=home, check=True)
    info = json.loads(run.stdout)
    assert info["status"] == "SUCCEEDED" and len(info["steps"]) == 5
    listed = json.loads(cli("pipeline", "list", "--json", home=home, check=True).stdout)
    assert [row["id"] for row in listed] == [info["id"]]
    shown = cli("pipeline", "show", info["id"], home=home, check=True).stdout
    assert "SUCCEEDED" in shown and "DAG" in shown
    failing = cli("pipeline", "run", "tests.pipelines.resources.basic:failing", home=home)
    assert failing.returncode == 1
    assert "the input had no churners" in failing.stdout


def test_audit_and_users_commands(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cli("users", "grant", "alice", "admin", home=home, check=True)
    cli("users", "grant", "bob", "approver", home=home, check=True)
    users = json.loads(cli("users", "list", "--json", home=home, check=True).stdout)
    assert {"name": "bob", "roles": ["approver"]} in users
    assert "ok" in cli("audit", "verify", home=home, check=True).stdout
    anchor = cli("audit", "anchor", home=home, check=True).stdout.strip()
    assert cli("audit", "verify", "--anchor", anchor, home=home).returncode == 0
    events = json.loads(cli("audit", "log", "--json", home=home, check=True).stdout)
    assert [e["action"] for e in events] == ["user.grant", "user.grant"]
    assert cli("fsck", home=home).returncode == 0
