"""How the CLI ends: every exception becomes one line on stderr and an exit code, never a traceback.

=====  ==============================================================================
code   meaning
=====  ==============================================================================
0      done
1      the command ran and reports a failure (a failed job, violations, a broken chain)
2      the input was wrong: a usage error or a :class:`~loopml.errors.LoopmlError`
70     a defect in loopml (an exception nobody expected); ``LOOPML_DEBUG=1`` shows it
130    interrupted (Ctrl-C)
=====  ==============================================================================
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import typer

USAGE, DEFECT, INTERRUPTED = 2, 70, 130


def say(message: str) -> None:
    """Print ``error: <message>`` on stderr as one line; the message is never read as markup."""
    from rich.text import Text

    from loopml.cli._render import err_console

    err_console.print(Text("error: ", style="red") + Text(" ".join(message.split())), soft_wrap=True)


def _usage_message(exc: Any) -> str:
    possibilities = getattr(exc, "possibilities", None)
    message: str = exc.message if possibilities else exc.format_message()
    if possibilities:
        message = f"{message.rstrip('.')}; did you mean {' or '.join(sorted(possibilities))}?"
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        message = f"{message.rstrip()} (see '{ctx.command_path} --help')"
    return message


def _usage(exc: Any) -> int:
    if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: its help (Rich has printed a sub-group's)
        if exc.message.strip():
            print(exc.message)
        return USAGE
    say(_usage_message(exc))
    return int(getattr(exc, "exit_code", USAGE) or USAGE)


def _debug() -> bool:
    """``LOOPML_DEBUG`` (off when the settings themselves cannot be read: that error is being reported)."""
    from loopml.config import get_settings
    from loopml.errors import LoopmlError

    try:
        return get_settings().debug
    except LoopmlError:
        return False


def _defect(exc: BaseException) -> int:
    if _debug():
        traceback.print_exception(exc)
    say(f"internal error ({type(exc).__name__}: {exc}); this is a defect in loopml, not in your input. "
        "Run again with LOOPML_DEBUG=1 to see the traceback, and report it")
    return DEFECT


def _system_exit(exc: SystemExit) -> int:
    if exc.code is None or isinstance(exc.code, int):
        return int(exc.code or 0)
    say(str(exc.code))
    return USAGE


def exit_code(exc: BaseException) -> int:
    """Report ``exc`` on stderr (one line) and return the process exit code for it."""
    from loopml.errors import LoopmlError

    if isinstance(exc, typer.Exit):
        return exc.exit_code
    if isinstance(exc, SystemExit):
        return _system_exit(exc)
    if isinstance(exc, KeyboardInterrupt | typer.Abort):
        say("interrupted")
        return INTERRUPTED
    if isinstance(exc, LoopmlError):
        say(exc.message)
        return USAGE
    if isinstance(exc, typer.TyperException):
        return _usage(exc)
    if isinstance(exc, BrokenPipeError):
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (the reader went away; print nothing more)
        return 1
    return _defect(exc)
