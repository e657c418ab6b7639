"""``loopml features``: list, describe, read online values, materialize and register feature groups."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import typer

from loopml.cli._render import ago, bold, console, done, line, print_json, print_table

app = typer.Typer(no_args_is_help=True, add_completion=False)

_JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")


@app.command("list")
def list_groups(json_out: bool = _JSON) -> None:
    """List registered feature groups (latest version of each)."""
    from rich.table import Table

    from loopml.features import list_feature_groups

    infos = list_feature_groups()
    if json_out:
        print_json([i.to_dict() for i in infos])
        return
    table = Table("name", "version", "entity keys", "features", "ttl", "owner", "registered", box=None)
    for info in infos:
        g = info.group
        table.add_row(g.name, str(info.version), ", ".join(g.key_names), str(len(g.features)),
                      "-" if g.ttl is None else str(g.ttl), g.owner or "-", ago(info.created_at))
    print_table(table)


@app.command("show")
def describe(name: str = typer.Argument(..., help="Feature group name."), json_out: bool = _JSON) -> None:
    """Show a feature group's definition, what was ingested, and watermarks per online store."""
    from loopml.features import describe_feature_group

    stats = describe_feature_group(name)
    if json_out:
        print_json(stats.to_dict())
        return
    g = stats.info.group
    console.print(line(bold(g.name), f" v{stats.info.version}  {g.description}"))
    console.print(f"  keys: {g.entity_keys}  event time: {g.event_time}  ttl: {g.ttl or '-'}  owner: {g.owner or '-'}")
    for feature, kind in g.features.items():
        console.print(f"  - {feature}: {kind}")
    console.print(f"  offline: {stats.offline_rows} rows in {stats.ingests} ingests, last {ago(stats.last_ingest_at)}")
    for store, mark in stats.watermarks.items():
        console.print(f"  online {store}: materialized up to {ago(mark)}")


app.command("describe", hidden=True, help="Same as 'loopml features show'.")(describe)


@app.command("get")
def get(
    name: str = typer.Argument(..., help="Feature group name."),
    entity: list[str] = typer.Argument(..., help="Entity ids (for several keys: 42,eu)."),
    feature: list[str] = typer.Option([], "--feature", "-f", help="Only these features (repeatable)."),
    json_out: bool = _JSON,
) -> None:
    """Read the latest online values for one or more entities."""
    from rich.table import Table

    from loopml.features import get_feature_group, get_online_features
    from loopml.features.online import parse_entity

    group = get_feature_group(name).group
    # a list of entity ids gives a list of records, one per entity
    rows = cast(list[dict[str, Any]],
                get_online_features(group, [parse_entity(group, e) for e in entity], feature or None))
    if json_out:
        print_json(rows)
        return
    table = Table(*rows[0].keys(), box=None)
    for row in rows:
        table.add_row(*("-" if v is None else str(v) for v in row.values()))
    print_table(table)


@app.command("ingest")
def ingest(
    name: str = typer.Argument(..., help="Feature group name."),
    source: str = typer.Argument(..., help="A CSV/Parquet/JSON Lines file, or a catalog dataset NAME[@VERSION]."),
    offline_only: bool = typer.Option(False, "--offline-only", help="Append to the offline store only."),
    json_out: bool = _JSON,
) -> None:
    """Validate rows against the group's definition, append them to the offline store and upsert the online
    store (idempotent: rows already stored are skipped; any mismatch writes nothing and names the column)."""
    from loopml.data import read_table
    from loopml.features import ingest as run

    result = run(name, read_table(source), online=not offline_only)
    if json_out:
        print_json(result.to_dict() if hasattr(result, "to_dict") else result.__dict__)
        return
    console.print(f"{name} v{result.version}: {result.rows_received} rows received, {result.rows_written} new, "
                  f"{result.online_rows} upserted online")


@app.command("materialize")
def materialize(
    name: str = typer.Argument(..., help="Feature group name."),
    start: datetime | None = typer.Option(None, help="Window start, UTC (default: the watermark)."),
    end: datetime | None = typer.Option(None, help="Window end, UTC (default: now; later is clamped to now)."),
    json_out: bool = _JSON,
) -> None:
    """Load the latest value per entity in [start, end] into the online store; advance the watermark."""
    from datetime import UTC

    from loopml.features import materialize as run

    def utc(value: datetime | None) -> datetime | None:
        return None if value is None else value.replace(tzinfo=value.tzinfo or UTC)

    result = run(name, utc(start), utc(end))
    if json_out:
        print_json(result.to_dict())
        return
    note = " (end clamped to now)" if result.clamped else ""
    console.print(f"materialized {result.entities} entities of {name} into {result.store}; "
                  f"watermark {ago(result.watermark)}{note}")


@app.command("register")
def register(target: str = typer.Argument(..., help="MODULE:NAME of a FeatureGroup, e.g. myproj.features:customer"),
             json_out: bool = _JSON) -> None:
    """Register a feature group defined in Python (a new version if its definition changed)."""
    from loopml.features import register_feature_group

    info = register_feature_group(target)
    done(json_out, {"name": info.name, "version": info.version, "definition_hash": info.definition_hash},
         f"registered {info.name} v{info.version} ({info.definition_hash[:12]})")
