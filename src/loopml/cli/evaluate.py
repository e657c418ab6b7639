"""``loopml evaluate``: show evaluation reports."""

from __future__ import annotations

import typer

from loopml.cli._render import console

app = typer.Typer(help="Evaluation reports: metrics, champion vs challenger, slices, bias, SHAP, the gate.",
                  no_args_is_help=True)


@app.command("show")
def show(
    ref: str = typer.Argument(..., help="GROUP:VERSION (its attached report) or a report digest sha256:…"),
    fmt: str = typer.Option("json", "--format", "-f", help="json or html"),
    output: str = typer.Option(None, "--output", "-o", help="Write to this file instead of the screen."),
) -> None:
    """Print an evaluation report as JSON, or write its self-contained HTML (curves, slices, bias, SHAP)."""
    import json
    from pathlib import Path

    from loopml.errors import ValidationError
    from loopml.evaluate.records import report_for, report_html

    if fmt not in ("json", "html"):
        raise ValidationError(f"unknown format {fmt!r}; use json or html")
    text = report_html(ref) if fmt == "html" else json.dumps(report_for(ref), indent=2)
    if output:
        Path(output).write_text(text)
        console.print(f"wrote {output}")
    else:
        print(text)
