"""``loopml data``: register, list, show, version history, profile, leakage checks and SQL over the catalog."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.text import Text

from loopml.cli._render import ago, bold, console, line, print_json, print_table, red

app = typer.Typer(no_args_is_help=True, add_completion=False)

_JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")
_VERSION = typer.Option(None, "--version", "-v", help="Version number (default: the latest).")


@app.command("register")
def register(
    name: str = typer.Argument(..., help="Dataset name (letters, digits, underscores)."),
    source: str | None = typer.Argument(None, help="A CSV, Parquet or JSON Lines file."),
    fmt: str | None = typer.Option(None, "--format", help="csv, parquet or jsonl (default: from the extension)."),
    description: str | None = typer.Option(None, "--description", "-d", help="Free text kept with the version."),
    query: str | None = typer.Option(None, "--sql", help="Register the result of a DuckDB query over the catalog."),
    json_out: bool = _JSON,
) -> None:
    """Register a new dataset version (the existing one if the content is unchanged)."""
    from loopml.data import register_dataset

    info = register_dataset(name, source, format=fmt, description=description, sql=query)
    if json_out:
        print_json(info.to_dict())
        return
    console.print(f"{info.ref}: {info.rows} rows, {len(info.schema)} columns, content {info.content_hash[:12]}")


@app.command("list")
def list_cmd(json_out: bool = _JSON) -> None:
    """List datasets (latest version of each)."""
    from rich.table import Table

    from loopml.data import list_datasets

    infos = list_datasets()
    if json_out:
        print_json([i.to_dict() for i in infos])
        return
    table = Table("name", "version", "rows", "columns", "format", "registered", "by", box=None)
    for i in infos:
        table.add_row(i.name, str(i.version), str(i.rows), str(len(i.schema)), i.format, ago(i.created_at),
                      i.created_by)
    print_table(table)


@app.command("show")
def show(name: str = typer.Argument(..., help="Dataset name."), version: int | None = _VERSION,
         json_out: bool = _JSON) -> None:
    """Show one dataset version: schema, lineage and storage."""
    from loopml.data import get_dataset

    info = get_dataset(name, version)
    if json_out:
        print_json(info.to_dict())
        return
    console.print(line(bold(info.ref), f"  {info.description or ''}"))
    console.print(f"  {info.rows} rows from {info.format} {info.source or info.sql or ''}")
    console.print(f"  content {info.content_hash}  artifact {info.sha256} ({info.size} bytes)")
    console.print(f"  registered {ago(info.created_at)} by {info.created_by}")
    for col in info.schema:
        cats = f"  [{', '.join(col.categories[:8])}]" if col.categories else ""
        console.print(f"  - {col.name}: {col.logical_type}{'?' if col.nullable else ''}{cats}",
                      highlight=False)
    if info.lineage:
        console.print(f"  lineage: {info.lineage}")


@app.command("versions")
def versions(name: str = typer.Argument(..., help="Dataset name."), json_out: bool = _JSON) -> None:
    """List every version of a dataset, oldest first."""
    from rich.table import Table

    from loopml.data import dataset_versions

    infos = dataset_versions(name)
    if json_out:
        print_json([i.to_dict() for i in infos])
        return
    table = Table("version", "rows", "content", "format", "registered", "by", box=None)
    for i in infos:
        table.add_row(str(i.version), str(i.rows), i.content_hash[:12], i.format, ago(i.created_at), i.created_by)
    print_table(table)


@app.command("profile")
def profile_cmd(
    name: str = typer.Argument(..., help="Dataset name."),
    version: int | None = _VERSION,
    html: Path | None = typer.Option(None, "--html", help="Also write a self-contained HTML report here."),
    json_out: bool = _JSON,
) -> None:
    """Profile a dataset version: per-column statistics and warnings."""
    from loopml.core import userfiles
    from loopml.data import get_dataset, load_dataset, profile, profile_html

    if html is not None:
        userfiles.output_file(html, "HTML report")
    info = get_dataset(name, version)
    report = profile(load_dataset(info.name, info.version))
    if html is not None:
        userfiles.write_text(html, profile_html(report, title=f"Profile of {info.ref}"), "HTML report")
    if json_out:
        print_json(report)
        return
    console.print(line(bold(info.ref), f": {report['rows']} rows, {report['duplicate_rows']} duplicate rows"))
    for col in report["columns"]:
        console.print(f"  - {col['name']}: {col['logical_type']}, {col['missing_rate']:.1%} missing, "
                      f"{col['distinct']} distinct")
    for warning in report["warnings"]:
        console.print(line("  ", Text("warning", style="yellow"), f" {warning['message']}"))
    if html is not None:
        console.print(f"  report written to {str(html)}")


@app.command("sql")
def sql_cmd(query: str = typer.Argument(..., help="A DuckDB SELECT naming datasets as tables."),
            limit: int = typer.Option(50, "--limit", help="Rows to print (the query itself is not limited)."),
            json_out: bool = _JSON) -> None:
    """Run a DuckDB SQL query over the catalog."""
    import json

    from rich.table import Table

    from loopml.data import sql

    frame = sql(query).head(limit)
    if json_out:
        print(frame.to_json(orient="records", date_format="iso"))
        return
    table = Table(*[str(c) for c in frame.columns], box=None)
    for row in json.loads(frame.to_json(orient="values", date_format="iso")):
        table.add_row(*("-" if v is None else str(v) for v in row))
    print_table(table)


@app.command("leakage")
def leakage_cmd(
    name: str = typer.Argument(..., help="Dataset name."),
    target: str = typer.Option(..., "--target", "-t", help="The label column."),
    version: int | None = _VERSION,
    label_time: str | None = typer.Option(None, "--label-time", help="Column (or timestamp) of label time."),
    threshold: float = typer.Option(0.95, "--threshold", help="Flag single-feature AUC/R² at or above this."),
    json_out: bool = _JSON,
) -> None:
    """Check a dataset version for features that leak the target."""
    from loopml.data import detect_leakage, get_dataset, load_dataset

    info = get_dataset(name, version)
    report = detect_leakage(load_dataset(info.name, info.version), target, label_time=label_time,
                            threshold=threshold)
    if json_out:
        print_json(report.to_dict())
        return
    console.print(line(bold(info.ref), f" target {target} ({report.task}, {report.metric}): "
                       f"{len(report.flagged)} flagged"))
    for finding in report.findings:
        console.print(line("  ", red(finding.feature), f" {finding.kind}: {finding.reason}"))
