"""The command line: one-line errors with exit code 2, --json output, fast --help."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOOPML = [sys.executable, "-m", "loopml.cli.main"]


def cli(*args: str, home: Path, cwd: Path | None = None, check: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOOPML_HOME": str(home), "LOOPML_USER": "alice", "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    out = subprocess.run([*LOOPML, *args], capture_output=True, text=True, env=env, cwd=cwd or ROOT, timeout=120)
    if check:
        assert out.returncode == 0, out.stderr
    return out


# Runs the CLI in a fresh interpreter, then names the command modules (loopml.cli.<name>) it imported.
_IMPORTED = ("import sys\nfrom loopml.cli.main import run\nrun({args!r})\n"
             "names = (m.split('.')[2] for m in sys.modules if m.startswith('loopml.cli.'))\n"
             "print(sorted(n for n in names if not n.startswith('_') and n != 'main'), file=sys.stderr)")


def test_help_lists_the_commands_without_importing_them() -> None:
    """``loopml --help`` imports no command module (its speed is measured in bench/cli_help.py)."""
    out = subprocess.run([sys.executable, "-c", _IMPORTED.format(args=["--help"])], capture_output=True, text=True,
                         check=True)
    for command in ("pipeline", "demo", "init", "audit", "users", "fsck"):
        assert command in out.stdout
    assert out.stderr.strip() == "[]"


def test_a_command_imports_its_own_module_only() -> None:
    out = subprocess.run([sys.executable, "-c", _IMPORTED.format(args=["model", "--help"])], capture_output=True,
                         text=True, check=True)
    assert "approve" in out.stdout
    assert out.stderr.strip() == "['model']"


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
    assert [(e["action"], e["details"]["role"]) for e in events] == [
        ("user.grant", "approver"), ("user.grant", "admin"), ("user.grant", "data-scientist")]  # the last: home created
    assert cli("fsck", home=home).returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["modle", "list"], "No such command 'modle'. Did you mean 'model'?"),
        (["model", "list", "--jsno"], "No such option: --jsno; did you mean --json?"),
        (["model", "list", "--limit", "abc"], "Invalid value for '--limit'"),
        (["model", "show"], "Missing argument"),
        (["pipeline", "runn", "x:y"], "Did you mean 'run'?"),
    ],
)
def test_usage_errors_are_one_line_with_a_suggestion_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    out = cli(*args, home=tmp_path / "home")
    assert out.returncode == 2
    assert out.stderr.startswith("error: ") and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert message in out.stderr
    assert "--help')" in out.stderr  # where to look next
    assert "Traceback" not in out.stderr


def test_bare_loopml_shows_the_help_and_exits_2(tmp_path: Path) -> None:
    out = cli(home=tmp_path / "home")
    assert out.returncode == 2 and "Traceback" not in out.stderr + out.stdout
    assert "Usage: loopml" in out.stdout and "model" in out.stdout


def test_version(tmp_path: Path) -> None:
    from loopml import __version__

    out = cli("--version", home=tmp_path / "home", check=True)
    assert out.stdout.strip() == f"loopml {__version__}"


def test_a_defect_is_one_line_and_exit_70_and_debug_shows_the_traceback(capsys: pytest.CaptureFixture[str],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from loopml.cli import _errors

    def defect() -> None:
        raise KeyError("boom")

    try:
        defect()
    except KeyError as exc:
        monkeypatch.delenv("LOOPML_DEBUG", raising=False)
        assert _errors.exit_code(exc) == 70
        err = capsys.readouterr().err
        assert err.startswith("error: internal error (KeyError: 'boom')") and len(err.strip().splitlines()) == 1
        monkeypatch.setenv("LOOPML_DEBUG", "1")
        assert _errors.exit_code(exc) == 70
        assert "Traceback" in capsys.readouterr().err
