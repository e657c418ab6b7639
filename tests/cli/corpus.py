"""The bad-argument corpus (RELIABILITY case 46): every CLI command, found by walking the Typer app, run
with missing files, directories for files, binary files, NaN, huge and negative numbers, empty strings
and misspelt flags. What must hold: exit code 0 or 2, no traceback, an error is one line."""

from __future__ import annotations

import contextlib
import io
import sys
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

HUGE = "99999999999999999999999"
INTS = ["nan", "abc", "", "-1", "0", HUGE, f"-{HUGE}"]
FLOATS = ["nan", "inf", "-inf", "1e999", "abc", "", "-1", "0"]
FILES = ["{missing}", "{dir}", "{binary}", "{empty}", "{file}/below"]
STRINGS = ["", " ", "nan", "-1", HUGE, f"x:{HUGE}", f"x@{HUGE}", "x:-1", "../../x", "{not json", "\udcff",
           "@{missing}", "@{dir}", "@{binary}", *FILES]
PATHS = ["", *FILES]
TIMES = ["nan", "", "99999-01-01", "2026-13-45"]
CORPUS: dict[Any, list[str]] = {int: INTS, float: FLOATS, str: STRINGS, Path: PATHS, datetime: TIMES}


@dataclass(frozen=True)
class Param:
    """One parameter of a command: how to pass it and what type it takes."""

    name: str
    opts: tuple[str, ...]
    kind: Any
    required: bool
    flag: bool

    @property
    def is_option(self) -> bool:
        return bool(self.opts) and self.opts[0].startswith("-")

    def args(self, value: str) -> list[str]:
        return [self.opts[0], value] if self.is_option else [value]


def _kind(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is list or (args and annotation not in CORPUS):
        return _kind(args[0]) if args else str
    return annotation


def commands(app: Any) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every leaf command of ``app`` with its path, loading lazy groups as they are reached."""
    import typer.main

    root = typer.main.get_command(app)

    def walk(cmd: Any, path: tuple[str, ...], ctx: Any) -> Iterator[tuple[tuple[str, ...], Any]]:
        if not hasattr(cmd, "list_commands"):
            yield path, cmd
            return
        for name in cmd.list_commands(ctx):
            _, sub, _ = cmd.resolve_command(ctx, [name])
            yield from walk(sub, (*path, name), ctx)

    yield from walk(root, (), root.make_context("loopml", ["--help"], resilient_parsing=True))


def params(cmd: Any) -> list[Param]:
    """The parameters of a leaf command, typed from the function's own annotations."""
    hints = typing.get_type_hints(getattr(cmd.callback, "__wrapped__", cmd.callback))
    return [Param(p.name, tuple(p.opts), _kind(hints.get(p.name, str)), p.required, bool(getattr(p, "is_flag", False)))
            for p in cmd.params if p.name != "help"]


@dataclass
class Outcome:
    code: int
    out: str
    err: str


def invoke(argv: list[str]) -> Outcome:
    """Run ``loopml ARGV`` in this process through the real entry point's error handling; stdin is empty."""
    from loopml.cli.main import run

    out, err = io.StringIO(), io.StringIO()
    stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(b""))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run(argv)
    finally:
        sys.stdin = stdin
    return Outcome(code, out.getvalue(), err.getvalue())


def misspelt(option: str) -> str | None:
    """``--json`` -> ``--jsno``: a plausible typo of a long option, or None for short ones."""
    if not option.startswith("--") or len(option) < 6:
        return None
    return option[:-2] + option[-1] + option[-2]


def problems(argv: list[str], outcome: Outcome) -> list[str]:
    """What is wrong with ``outcome`` for the corpus: a traceback, a code besides 0/2, a multi-line error."""
    found = []
    text = outcome.out + outcome.err
    if "Traceback" in text or 'File "' in text:
        found.append("a traceback")
    if outcome.code not in (0, 2):
        found.append(f"exit code {outcome.code}")
    errors = [line for line in outcome.err.splitlines() if line.strip()]
    if outcome.code == 2 and errors and errors[0].startswith("error:") and len(errors) > 1:
        found.append(f"{len(errors)} lines of error")
    if outcome.code == 2 and not outcome.err.strip() and not outcome.out.strip():
        found.append("exit 2 without a word")
    return [f"loopml {' '.join(map(repr, argv))}: {', '.join(found)}\n    {outcome.err.strip()[-400:]}"] if found else []
