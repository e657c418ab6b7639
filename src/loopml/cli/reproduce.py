"""``loopml reproduce MODEL:VERSION``: re-run what produced a version and say whether the same bytes came out."""

from __future__ import annotations

import typer
from rich.markup import escape

from loopml.cli._render import console, print_json


def reproduce(
    ref: str = typer.Argument(..., help="GROUP:VERSION, GROUP@approved or GROUP@latest"),
    json_out: bool = typer.Option(False, "--json", help="Print the whole comparison as JSON."),
    keep: bool = typer.Option(False, "--keep", help="Keep the fresh working folder and home of the re-run."),
    timeout: float = typer.Option(3600.0, help="Seconds the re-run may take."),
) -> None:
    """Re-run what produced a version from its lineage in a fresh home; print 'identical' or the first
    difference and its likely cause. Exit 1 when the model differs."""
    from loopml.reproducibility import reproduce as run

    found = run(ref, keep=keep, timeout=timeout)
    if json_out:
        print_json(found.to_dict())
    else:
        console.print(escape(found.summary))
        for step in found.steps:
            detail = "; ".join(step.get("what") or [])
            console.print(f"  {step['outcome']:>13}  {escape(step['step'])}"
                          f"{'  ' + escape(detail) if detail else ''}")
        agreement = found.metrics_agreement
        if agreement:
            console.print(f"  metrics agree within the bootstrap CI: {agreement.get('agree')} "
                          f"({escape(str(agreement.get('reason')))})")
        console.print(f"  {found.seconds:.1f} s{'; kept ' + found.workdir if found.workdir else ''}")
    if not found.identical:
        raise typer.Exit(1)
