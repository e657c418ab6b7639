"""``loopml config``: the effective settings and where each came from."""

from __future__ import annotations

import typer

from loopml.cli._render import console, print_json

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.command("show")
def show(json_out: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Print every setting's effective value and where it came from: the environment, loopml.toml or the
    default (a password in a URL is masked)."""
    from loopml import config

    found = config.describe()
    if json_out:
        print_json([{"key": s.setting.key, "env": s.setting.env, "value": s.public_value(),
                     "source": s.origin} for s in found])
        return
    width = max(len(s.setting.key) for s in found)
    for s in found:
        console.print(f"{s.setting.key:{width}}  {_text(s.public_value()):50}  {s.origin}", highlight=False, soft_wrap=True)


def _text(value: object) -> str:
    return "-" if value is None or value == "" else str(value)
