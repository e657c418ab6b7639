"""``loopml evaluate``: show evaluation reports; replay captured traffic through a challenger."""

from __future__ import annotations

import typer
from rich.markup import escape

from loopml.cli._render import console

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.command("show")
def show(
    ref: str = typer.Argument(..., help="GROUP:VERSION (its attached report) or a report digest sha256:…"),
    fmt: str = typer.Option("json", "--format", "-f", help="json or html"),
    output: str = typer.Option(None, "--output", "-o", help="Write to this file instead of the screen."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON (the same as --format json)."),
) -> None:
    """Print an evaluation report as JSON, or write its self-contained HTML (curves, slices, bias, SHAP)."""
    import json

    from loopml.core import userfiles
    from loopml.errors import ValidationError
    from loopml.evaluate.records import report_for, report_html

    fmt = "json" if json_out else fmt
    if fmt not in ("json", "html"):
        raise ValidationError(f"unknown format {fmt!r}; use json or html")
    if output:
        userfiles.output_file(output, "report file")
    text = report_html(ref) if fmt == "html" else json.dumps(report_for(ref), indent=2)
    if output:
        userfiles.write_text(output, text, "report file")
        console.print(f"wrote {output}")
    else:
        print(text)


@app.command("replay")
def replay(
    endpoint: str = typer.Argument(..., help="The endpoint whose captured requests are replayed."),
    challenger: str = typer.Option(..., "--challenger", help="The version to try, GROUP:VERSION."),
    window: str = typer.Option("7d", "--window", help="How far back: 7d, 24h, 90m, 3600s."),
    champion: str = typer.Option(None, "--champion", help="Compare with this version instead of the served one."),
    rule: list[str] = typer.Option(None, "--rule", "-r", help="A gate rule over the replay, e.g. "
                                   "'replay.roc_auc >= replay.champion.roc_auc'; repeat for more."),
    slices: list[str] = typer.Option(None, "--slice", help="A request column to slice by; repeat for more."),
    output: str = typer.Option(None, "--output", "-o", help="Also write the HTML report to this file."),
    json_out: bool = typer.Option(False, "--json", help="Print the whole report as JSON."),
) -> None:
    """Run an endpoint's captured traffic through a challenger offline and compare it with the champion on
    exactly those rows (with the ground truth that arrived). Exit 1 when a --rule fails."""
    import json

    from loopml.core import userfiles
    from loopml.evaluate.replay import replay as run
    from loopml.evaluate.replay_html import render_replay

    if output:
        userfiles.output_file(output, "report file")
    found = run(endpoint, challenger, window=window, champion=champion, rules=list(rule or []) or None,
                slices=tuple(slices or ()))
    if output:
        userfiles.write_text(output, render_replay(found), "report file")
    if json_out:
        print(json.dumps(found, indent=1, default=str))
    else:
        s = found["summary"]
        console.print(f"{escape(found['challenger'])} vs {escape(found['champion'])} on {s['rows']} replayed rows "
                      f"({s.get('labelled_rows', 0)} with ground truth): agreement {s.get('agreement')}, "
                      f"shift {s.get('shift')}, payload failures {s['failures']}")
        for r in (found.get("gate") or {}).get("rules", []):
            console.print(f"  {'pass' if r['passed'] else 'FAIL'}  {escape(r['rule'])}  "
                          f"({escape(r['reason'])})")
        console.print(f"report {found['json_digest']} (html {found['html_digest']})")
    if found.get("gate") and not found["gate"]["passed"]:
        raise typer.Exit(1)
