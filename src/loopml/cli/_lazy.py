"""A command group that imports a sub-command's module only when that sub-command runs.

``loopml --help`` lists every command from a table (name, module, help) without importing any command
module; ``loopml model list`` imports ``loopml.cli.model`` alone. Misspelt names still get a "did you
mean", because the table's names are known up front.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, cast

from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class Entry:
    """One top-level command: ``module:attribute`` under ``loopml.cli`` (a Typer app or a function)."""

    target: str
    help: str
    panel: str
    hidden: bool = False


_loaded: dict[str, Any] = {}


def load(name: str, entry: Entry) -> Any:
    """The click command for ``entry``, imported and built once per process."""
    if name not in _loaded:
        import typer
        import typer.main

        module, _, attribute = entry.target.partition(":")
        obj = getattr(importlib.import_module(f"loopml.cli.{module}"), attribute)
        command: TyperGroup | TyperCommand
        if isinstance(obj, typer.Typer):
            command = typer.main.get_group(obj)  # a group even when it holds one command
        else:
            single = typer.Typer(add_completion=False)
            single.command(name, help=entry.help if not obj.__doc__ else None)(obj)
            # a Typer app holding one command builds a TyperCommand
            command = cast(TyperCommand, typer.main.get_command(single))
        command.name = name
        command.help = command.help or entry.help
        command.hidden = entry.hidden
        command.rich_help_panel = entry.panel
        _loaded[name] = command
    return _loaded[name]


class _Placeholder(TyperCommand):
    """Stands in for a command in listings and suggestions until it is run."""

    def __init__(self, name: str, entry: Entry) -> None:
        super().__init__(name, help=entry.help, short_help=entry.help, hidden=entry.hidden)
        self.rich_help_panel = entry.panel
        self.entry = entry


class LazyGroup(TyperGroup):
    """The root group: its commands come from :data:`TABLE` (set by the entry point) and load on use."""

    table: dict[str, Entry] = {}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name, entry in self.table.items():
            self.commands[name] = _loaded.get(name) or _Placeholder(name, entry)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """The root's help in plain text, commands grouped by stage: Typer's Rich help would import Markdown,
        Pygments and tracebacks (about half a second) only to draw boxes around this list."""
        self.format_usage(ctx, formatter)
        self.format_help_text(ctx, formatter)
        self.format_options(ctx, formatter)

    def format_options(self, ctx: Any, formatter: Any) -> None:
        rows = [r for r in (p.get_help_record(ctx) for p in self.get_params(ctx)) if r]
        if rows:
            with formatter.section("Options"):
                formatter.write_dl(rows)
        panels: dict[str, list[tuple[str, str]]] = {}
        for name, entry in self.table.items():
            if not entry.hidden:
                panels.setdefault(entry.panel, []).append((name, entry.help.split(". ")[0].rstrip(".")))
        for panel, rows in panels.items():
            with formatter.section(panel):
                formatter.write_dl(rows)

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if isinstance(command, _Placeholder) and name is not None:
            command = self.commands[name] = load(name, command.entry)
        return name, command, rest
