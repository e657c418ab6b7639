"""RELIABILITY case 46: every CLI command with a corpus of bad arguments — one line, exit 0 or 2, never a
traceback. The commands are enumerated from the Typer app, so a new command is covered without editing
this file; each gets plausible values for its required parameters (below), then each parameter in turn
gets every bad value of its type, and every long option is misspelt once."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.corpus import CORPUS, Param, commands, invoke, misspelt, params, problems

ROOT = Path(__file__).resolve().parents[2]

# A plausible value for a required parameter, by name: valid enough that the bad value under test is what
# gets refused, and safe — nothing here names an approved model, so no endpoint or job starts.
BASE = {
    "ref": "churn:1", "model": "churn:1", "group": "churn", "name": "corpus", "source": "ds", "query": "select 1",
    "target": "corpus_missing_module:p", "entity": "1", "user": "bob", "role": "viewer", "run_id": "r_none",
    "run_ids": "r_none", "key": "loss", "execution_id": "pe_none", "token_id": "t_none", "endpoint": "ep",
    "pipeline": "corpus_missing_module:p", "metric": "error_rate", "threshold": "0.5", "space": "x=int:1:2",
    "objective": "validation:auc", "pattern": '{"detail": {}}', "action": '{"type": "log"}', "folder": "{dir}",
    "file": "{csv}", "input_file": "{csv}", "output": "{fresh}", "out": "{fresh}",
}
# Per command group, names that mean something else there.
BASE_IN = {"data": {"name": "ds"}, "features": {"source": "ds"}}
# Extra arguments so a command that would otherwise start something long-lived ends at once.
EXTRA = {("scheduler",): ["--once"], ("train", "run"): ["--algorithm", "xgboost", "--train", "nosuch_dataset"],
         ("tune", "run"): ["--algorithm", "xgboost", "--train", "nosuch_dataset"]}
# (command, option, value) left out, with the reason.
SKIP = {(("server",), "--port", "0"): "a free port is valid: the server would start and serve"}


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Files the corpus names, a home with a dataset ``ds`` and a pending model ``churn:1``, and a port in use."""
    tmp = tmp_path_factory.mktemp("corpus")
    (tmp / "dir").mkdir()
    (tmp / "binary").write_bytes(bytes(range(256)) * 8)
    (tmp / "empty").write_bytes(b"")
    (tmp / "file").write_text("a file, not a folder\n")
    (tmp / "ok.csv").write_text("a,b,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n")
    saved = {k: os.environ.get(k) for k in ("LOOPML_HOME", "LOOPML_USER", "LOOPML_DB", "LOOPML_ARTIFACTS")}
    os.environ.update(LOOPML_HOME=str(tmp / "home"), LOOPML_USER="alice")
    for key in ("LOOPML_DB", "LOOPML_ARTIFACTS"):
        os.environ.pop(key, None)
    cwd = Path.cwd()
    os.chdir(tmp)
    _populate(tmp / "ok.csv")
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen(1)
    yield {"dir": str(tmp / "dir"), "binary": str(tmp / "binary"),
           "empty": str(tmp / "empty"), "file": str(tmp / "file"), "csv": str(tmp / "ok.csv"),
           "fresh": str(tmp / "fresh-out"), "port": str(held.getsockname()[1])}
    held.close()
    os.chdir(cwd)
    for key, value in saved.items():
        os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    _reset()


def _reset() -> None:
    from loopml.config import reset_settings

    reset_settings()


def _populate(csv: Path) -> None:
    from loopml import registry
    from loopml.core import context, identity
    from loopml.data import register_dataset
    from tests.registry.conftest import tiny_model

    _reset()
    with context.get_db().write() as conn:
        identity.grant(conn, "alice", "admin", actor="alice")
        identity.grant(conn, "alice", "data-scientist", actor="alice")
    register_dataset("ds", str(csv))
    registry.register(tiny_model()[0], "churn", actor="alice")


_fresh = itertools.count()


def _fill(value: str, places: dict[str, str]) -> str:
    """``value`` with its placeholders replaced; ``{missing}`` is a new path each time (a command may
    create the path it was given, and the next one must still find nothing there)."""
    if "{missing}" in value:
        value = value.replace("{missing}", f"{places['dir']}-missing-{next(_fresh)}/no/such.csv")
    for key, path in places.items():
        value = value.replace("{" + key + "}", path)
    return value


def _value(path: tuple[str, ...], param: Param, places: dict[str, str]) -> str:
    return _fill(BASE_IN.get(path[0], {}).get(param.name) or BASE.get(param.name, "x"), places)


def _base(path: tuple[str, ...], plist: list[Param], places: dict[str, str]) -> list[str]:
    args = [*path, *EXTRA.get(path, [])]
    if path == ("server",):
        args += ["--port", places["port"]]
    for p in plist:
        if p.required:
            args += p.args(_value(path, p, places))
    return args


def _cases(places: dict[str, str]) -> Iterator[tuple[str, list[str], bool]]:
    """(group, argv, must the command refuse it) for every command."""
    from loopml.cli.main import app

    for path, cmd in commands(app):
        plist = params(cmd)
        if any(p.required for p in plist):
            yield " ".join(path), list(path), True  # required parameters missing
        base = _base(path, plist, places)
        for p in plist:
            if p.flag:
                continue
            for value in CORPUS.get(p.kind, CORPUS[str]):
                value = _fill(value, places)
                if (path, p.opts[0], value) not in SKIP:
                    refuse = p.kind is float and value in NOT_A_NUMBER
                    yield " ".join(path), _with(base, path, plist, p, value, places), refuse
        for p in plist:
            typo = misspelt(p.opts[0]) if p.is_option else None
            if typo:
                yield " ".join(path), [*base, typo], True
        yield " ".join(path), [*base, "--no-such-flag"], True


def _with(base: list[str], path: tuple[str, ...], plist: list[Param], param: Param, value: str,
          places: dict[str, str]) -> list[str]:
    """The base invocation with ``param`` set to ``value``."""
    if param.is_option:
        if param.opts[0] in base:
            i = base.index(param.opts[0])
            return [*base[:i + 1], value, *base[i + 2:]]
        return [*base, param.opts[0], value]
    head = [*path, *EXTRA.get(path, [])] + (["--port", places["port"]] if path == ("server",) else [])
    positional = [q for q in plist if not q.is_option]
    values = [value if q is param else _value(path, q, places) for q in positional if q.required or q is param]
    options = [a for q in plist if q.is_option and q.required for a in q.args(_value(path, q, places))]
    return [*head, *options, "--", *values] if value.startswith("-") else [*head, *options, *values]


NOT_A_NUMBER = {"nan", "inf", "-inf", "1e999"}
"""Never what a user meant for a number, whatever the command: each must be refused."""


def _groups() -> list[str]:
    from loopml.cli.main import app

    return sorted({path[0] for path, _ in commands(app)})


@pytest.mark.parametrize("group", _groups())
def test_every_command_survives_the_bad_argument_corpus(group: str, places: dict[str, str]) -> None:
    found: list[str] = []
    ran = 0
    for name, argv, refuse in _cases(places):
        if name.split()[0] != group:
            continue
        ran += 1
        outcome = invoke(argv)
        found += problems(argv, outcome)
        if refuse and outcome.code != 2:
            found.append(f"loopml {' '.join(map(repr, argv))}: accepted (exit {outcome.code}); it must be refused")
    assert ran, f"no case for {group}"
    assert not found, f"{len(found)} of {ran} cases went wrong:\n" + "\n".join(found)


def test_the_corpus_reaches_every_command() -> None:
    from loopml.cli.main import app

    names = {" ".join(path) for path, _ in commands(app)}
    assert {"transform", "model approve", "tokens create", "monitor baseline", "alarms put",
            "endpoint invoke", "endpoint ground-truth", "server", "demo"} <= names
    assert len(names) >= 80


@pytest.mark.parametrize(
    "argv",
    [["modle", "list"], ["model", "approve", f"churn:{'9' * 30}"], ["tokens", "create", "--user", "alice",
                                                                 "--expires-days", "nan"],
     ["monitor", "baseline", "{binary}"], ["endpoint", "ground-truth", "ep", "{missing}"]],
)
def test_the_real_entry_point_prints_one_line_and_exits_2(argv: list[str], tmp_path: Path) -> None:
    (tmp_path / "binary").write_bytes(bytes(range(256)))
    argv = [a.format(binary=tmp_path / "binary", missing=tmp_path / "missing.csv") for a in argv]
    env = {**os.environ, "LOOPML_HOME": str(tmp_path / "home"), "LOOPML_USER": "alice", "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    out = subprocess.run([sys.executable, "-m", "loopml.cli.main", *argv], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=120)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert len(out.stderr.strip().splitlines()) == 1 and out.stderr.startswith("error: "), out.stderr
