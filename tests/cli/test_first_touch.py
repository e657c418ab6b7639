"""Issue 17, the command line a newcomer meets first: user text prints as written, hints are commands that
work as printed, whole IDs, ``--json`` everywhere, one verb per meaning, the missing commands, a misspelt
``--target`` refused before a job starts, the implicit home announced, a fast ``--help``. Each test failed on
the code before the issue was fixed."""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import tiny_model
from tests.cli.corpus import Outcome, commands, invoke

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "loopml"


def loopml(*args: str, user: str = "alice") -> Outcome:
    """``loopml ARGS`` in this process (the real entry point and error handling) as ``user``."""
    from loopml.config import reset_settings

    os.environ["LOOPML_USER"] = user
    reset_settings()
    return invoke(list(args))


def ok(*args: str, user: str = "alice") -> str:
    out = loopml(*args, user=user)
    assert out.code == 0, (args, out.err, out.out)
    return out.out


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}", **extra}


@pytest.fixture
def world(home: Path, tmp_path: Path) -> Iterator[Path]:
    """alice (admin, data scientist) registered ``churn:1`` and a dataset; bob approves."""
    from loopml import data, registry
    from loopml.core import context, identity

    with context.get_db().write() as conn:
        identity.grant(conn, "alice", "admin", actor="alice")
        identity.grant(conn, "alice", "data-scientist", actor="alice")
        identity.grant(conn, "bob", "approver", actor="alice")
    (tmp_path / "d.csv").write_text("a,b,y\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(40)))
    data.register_dataset("ds", str(tmp_path / "d.csv"), description="cohort [sex] split")
    registry.register(tiny_model(), "churn", description="gate abs(DPPL[sex]) <= 0.1", actor="alice")
    yield tmp_path


# --- user text is never markup --------------------------------------------------------------------------


def test_square_brackets_in_user_text_print_as_written(world: Path) -> None:
    assert "abs(DPPL[sex]) <= 0.1" in ok("model", "show", "churn:1")
    assert "cohort [sex] split" in ok("data", "show", "ds")
    out = loopml("model", "show", "[red]nope[/red]:1")
    assert out.code == 2 and "[red]nope[/red]" in out.err


def test_the_cli_console_reads_no_markup() -> None:
    """Styles are given explicitly; a literal tag in a CLI source would now print as text, so none is left."""
    from loopml.cli import _render

    assert not _render.console._markup and not _render.err_console._markup
    tag = re.compile(r"\[/?(bold|red|green|yellow|cyan|dim|magenta)\]")
    found = [f"{p.name}:{n}" for p in (SRC / "cli").glob("*.py")
             for n, text in enumerate(p.read_text().splitlines(), 1) if tag.search(text)]
    assert not found, found


# --- hints are commands that work as printed --------------------------------------------------------------


def _raised_texts() -> Iterator[tuple[str, str]]:
    """Every string literal inside a ``raise`` in src/loopml, f-string fields replaced by ``1``."""
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue
            for part in ast.walk(node.exc):
                if isinstance(part, ast.JoinedStr):
                    yield f"{path.relative_to(SRC)}:{part.lineno}", "".join(
                        v.value if isinstance(v, ast.Constant) else "1" for v in part.values)
                elif isinstance(part, ast.Constant) and isinstance(part.value, str):
                    yield f"{path.relative_to(SRC)}:{part.lineno}", part.value


HINT = re.compile(r"['`]loopml ([^'`]+)['`]")
# Words in capitals stand for what only the user knows; each gets a value of the right shape.
PLACEHOLDERS = {"NAME": "bob", "model:GROUP:VERSION": "model:churn:1", "ROLE": "viewer", "FILE": "d.csv", "GROUP@approved": "churn@approved",
                "GROUP:VERSION": "churn:1", "ID": "x", "SEQ:HASH": "1:" + "0" * 64}


def _hints() -> list[tuple[str, str]]:
    # an f-string split over several literals is joined by the parser into one JoinedStr; plain literals
    # concatenated implicitly are one Constant: both come whole
    return sorted({(where, m.group(1)) for where, text in _raised_texts() for m in HINT.finditer(text)})


def test_every_hint_in_an_error_parses_as_a_loopml_command() -> None:
    """Each ``'loopml …'`` an error message suggests names a real command with arguments and options it
    takes (placeholders filled in): no hint leads to a usage error."""
    from loopml.cli.main import command

    hints = _hints()
    assert len(hints) >= 15, hints
    root, bad = command(), []
    for where, hint in hints:
        words = [PLACEHOLDERS.get(w, w) for w in shlex.split(hint)]
        cmd, path = root, ["loopml"]
        ctx = root.make_context("loopml", ["--help"], resilient_parsing=True)
        while hasattr(cmd, "resolve_command") and words:
            name, cmd, words = cmd.resolve_command(ctx, words)
            path.append(name)
            if hasattr(cmd, "resolve_command"):
                ctx = cmd.make_context(name, ["--help"], parent=ctx, resilient_parsing=True)
        if hasattr(cmd, "resolve_command"):
            bad.append(f"{where}: 'loopml {hint}' names a group, not a command")
            continue
        try:
            cmd.make_context(path[-1], list(words), parent=ctx).close()
        except Exception as exc:  # noqa: BLE001  (a usage error is what this test looks for)
            bad.append(f"{where}: 'loopml {hint}': {exc}")
    assert not bad, "\n".join(bad)


def test_the_unapproved_deploy_hint_runs_as_printed(world: Path) -> None:
    out = loopml("endpoint", "create", "web", "--model", "churn:1")
    assert out.code == 2
    hint = HINT.search(out.err)
    assert hint and hint.group(1) == "model approve churn:1", out.err
    assert "Approved" in ok(*shlex.split(hint.group(1)), user="bob")


def test_the_missing_dataset_hint_runs_as_printed(world: Path) -> None:
    out = loopml("data", "show", "customers")
    assert out.code == 2
    hint = HINT.search(out.err)
    assert hint, out.err
    words = [str(world / "d.csv") if w == "FILE" else w for w in shlex.split(hint.group(1))]
    assert "customers@1" in ok(*words)
    ok("data", "show", "customers")


# --- whole IDs --------------------------------------------------------------------------------------------


def test_tables_show_whole_ids_on_an_80_column_terminal(world: Path) -> None:
    """Rich fits a table to the terminal by cutting cells with '…'; an ID cut so cannot be pasted into the next
    command. (Outside a terminal Rich assumes 80 columns, as here.)"""
    from loopml.train import tracking

    run = tracking.create_run("an-experiment-with-a-long-name", kind="training", params={})
    tracking.log_metrics(run.id, {"validation:auc": 0.91234, "validation:logloss": 0.3, "train:auc": 0.95})
    listed = ok("runs", "list")
    assert run.id in listed and "an-experiment-with-a-long-name" in listed and "…" not in listed, listed
    assert "…" not in ok("model", "list", "churn") + ok("tokens", "list") + ok("data", "list")


# --- --json on every command that prints ------------------------------------------------------------------

# Commands that run until stopped and narrate what they do: a JSON document has no end to wait for.
NO_JSON = {("server",): "serves until stopped", ("scheduler",): "runs until stopped (--once prints JSON)",
           ("demo",): "narrates a five-minute walk through the loop"}


def test_every_command_takes_json() -> None:
    from loopml.cli.main import app

    missing = [" ".join(path) for path, cmd in commands(app)
               if path not in NO_JSON and "--json" not in {o for p in cmd.params for o in p.opts}]
    assert not missing, missing


def test_actions_print_json(world: Path) -> None:
    decided = json.loads(ok("model", "approve", "churn:1", "--note", "fine", "--json", user="bob"))
    assert decided["status"] == "Approved"
    assert json.loads(ok("users", "grant", "carol", "viewer", "--json")) == {"user": "carol", "role": "viewer",
                                                                           "granted": True}
    assert json.loads(ok("audit", "verify", "--json"))["ok"] is True
    assert json.loads(ok("model", "settings", "churn", "--json"))["group"] == "churn"


# --- one verb per meaning, the old spellings kept hidden ----------------------------------------------------

CANONICAL = {"show", "create", "delete"}
SYNONYMS = {"describe": "show", "put": "create", "delete-schedule": "delete"}


def test_one_verb_per_meaning_and_the_old_spellings_still_work() -> None:
    from loopml.cli.main import app

    visible, hidden = set(), set()
    for path, cmd in commands(app):
        (hidden if cmd.hidden else visible).add(path)
    clashes = [p for p in visible if p[-1] in SYNONYMS]
    assert not clashes, f"visible synonyms of {CANONICAL}: {clashes}"
    for old in [("endpoint", "describe"), ("features", "describe"), ("alarms", "put"), ("rules", "put"),
                ("monitor", "delete-schedule")]:
        assert old in hidden, old
        assert (*old[:-1], SYNONYMS[old[-1]]) in visible, old


def test_an_old_spelling_runs_the_new_command(world: Path) -> None:
    made = loopml("alarms", "put", "slow", "--source", "endpoint:web", "--metric", "p99_latency_ms",
                  "--threshold", "200")
    assert made.code == 0, made.err
    assert "slow" in ok("alarms", "list")
    ok("alarms", "delete", "slow")


# --- the missing commands -----------------------------------------------------------------------------------


def test_register_reopen_alias_tag_and_audit_by_actor(world: Path) -> None:
    from loopml import models

    folder = world / "model"
    models.save(tiny_model(2.0), folder)
    made = json.loads(ok("model", "register", "churn", str(folder), "--metric", "auc=0.81", "--tag", "team=crm",
                         "-d", "from a folder", "--json"))
    assert made["version"] == 2 and made["metrics"] == {"auc": 0.81} and made["tags"] == {"team": "crm"}
    printed = ok("model", "register", "churn", str(folder))
    hint = HINT.search(printed) or re.search(r"(loopml model approve \S+)", printed)
    assert hint and "churn:3" in hint.group(0), printed
    ok("model", "reject", "churn:2", "--note", "not yet", user="bob")
    reopened = json.loads(ok("model", "reopen", "churn:2", "--note", "retry", "--json", user="bob"))
    assert reopened["status"] == "PendingManualApproval"
    ok("model", "approve", "churn:2", user="bob")
    ok("model", "alias", "set", "churn:2", "production", user="bob")
    assert json.loads(ok("model", "alias", "list", "churn", "--json")) == {"production": 2}
    assert "churn:2" in ok("model", "show", "churn@production")
    ok("model", "alias", "delete", "churn", "production", user="bob")
    tagged = json.loads(ok("model", "tag", "churn:2", "owner=ana", "--remove", "team", "--json"))
    assert tagged["tags"] == {"owner": "ana"}
    by_bob = json.loads(ok("audit", "log", "--actor", "bob", "--json"))
    assert by_bob and {e["actor"] for e in by_bob} == {"bob"}
    assert {e["action"] for e in by_bob} >= {"model.approve", "model.reject"}


def test_register_needs_a_folder_or_a_run(world: Path) -> None:
    out = loopml("model", "register", "churn")
    assert out.code == 2 and "FOLDER or --run" in out.err


# --- a misspelt --target is refused before anything starts -----------------------------------------------------


def test_a_misspelt_target_is_refused_before_the_job_starts(world: Path) -> None:
    from loopml.train import tracking

    started = time.monotonic()
    out = loopml("train", "run", "--algorithm", "xgboost", "--train", "ds", "--target", "yy")
    assert out.code == 2, out.err
    assert out.err.count("\n") == 1 and "Traceback" not in out.err + out.out
    assert "did you mean --target y?" in out.err and "train channel" in out.err
    assert tracking.list_runs() == [] and time.monotonic() - started < 30


# --- the implicit home, and a fast --help ------------------------------------------------------------------------


def test_first_use_without_a_home_says_it_created_one_once(tmp_path: Path) -> None:
    env = _env(LOOPML_USER="alice")
    env.pop("LOOPML_HOME", None)
    first = subprocess.run([sys.executable, "-m", "loopml", "model", "list"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert f"created the loopml home {tmp_path / '.loopml'}" in first.stderr and "LOOPML_HOME" in first.stderr
    again = subprocess.run([sys.executable, "-m", "loopml", "model", "list"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "created" not in again.stderr


def test_help_imports_neither_rich_help_nor_markdown() -> None:
    probe = ("import sys\nfrom loopml.cli.main import run\nrun(['--help'])\n"
             "print(sorted(m for m in ('typer.rich_utils', 'rich.markdown', 'markdown_it', 'pygments') "
             "if m in sys.modules), file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=_env(), timeout=60)
    assert out.stderr.strip() == "[]", out.stderr
    assert "Prepare:" in out.stdout and "model" in out.stdout and "demo" in out.stdout


# --- tune prints a trial table ------------------------------------------------------------------------------


@pytest.mark.slow
def test_tune_prints_a_trial_table_not_json_lines(world: Path) -> None:
    out = ok("tune", "run", "-a", "xgboost", "--train", "ds", "--target", "y", "-H", "num_round=2",
             "-s", "max_depth=int:2:3", "--objective", "train:auc", "--max-trials", "2")
    lines = out.splitlines()
    header = next(i for i, text in enumerate(lines) if text.split()[:3] == ["trial", "run", "status"])
    rows = [text.split() for text in lines[header + 1:header + 3]]
    assert [r[0] for r in rows] == ["0", "1"] and all(r[1].startswith("run_") and r[2] == "COMPLETED" for r in rows)
    assert "max_depth" in lines[header] and not any(text.lstrip().startswith("{") for text in lines)
    assert any(text.startswith("best trial run run_") for text in lines), out
