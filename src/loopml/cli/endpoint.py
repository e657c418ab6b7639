"""``loopml endpoint`` and ``loopml transform``: serving from the command line (thin over loopml.serve)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from loopml.cli._render import console, print_json

app = typer.Typer(help="Endpoints: deploy approved models as real-time, serverless or async endpoints.",
                  no_args_is_help=True)

_JSON = typer.Option(False, "--json", help="Print as JSON.")
_NAME = typer.Argument(..., help="The endpoint name.")


@app.command("create")
def create(
    name: str = _NAME,
    model: str = typer.Option(..., "--model", help="GROUP:VERSION or GROUP@approved."),
    mode: str = typer.Option("realtime", help="realtime, serverless or async."),
    min_replicas: int = typer.Option(1, "--min", help="Fewest replicas (realtime)."),
    max_replicas: int = typer.Option(1, "--max", help="Most replicas (realtime; async workers)."),
    target_in_flight: float = typer.Option(4.0, help="Target in-flight requests per replica (scaling rule)."),
    max_concurrency: int = typer.Option(4, help="Concurrent predictions per replica; more wait in a bounded queue."),
    capture: float = typer.Option(0.0, help="Percent of requests captured (0-100)."),
    idle_seconds: float = typer.Option(60.0, help="Serverless/async: stop replicas after this idle time."),
    serverless_concurrency: int = typer.Option(10, help="Serverless: max concurrent requests (429 past it)."),
    port: int = typer.Option(0, help="Port to listen on (0: any free port)."),
    shadow: str = typer.Option(None, help="A model reference that receives a copy of traffic (answers captured)."),
    target: list[str] = typer.Option(None, "--target", help="Extra models for a multi-model endpoint (repeat)."),
    webhook: str = typer.Option(None, help="Async: URL notified on success or failure."),
    feature_group: str = typer.Option(None, help="Join this group's online features; requests send entity keys."),
    allow_unapproved: bool = typer.Option(False, help="Admin only, audited: deploy a version not Approved."),
    json_out: bool = _JSON,
) -> None:
    """Create an endpoint and start it."""
    from loopml import serve

    e = serve.create(name, model, mode=mode, min_replicas=min_replicas, max_replicas=max_replicas,
                     target_in_flight=target_in_flight, max_concurrency=max_concurrency, capture_percent=capture,
                     idle_seconds=idle_seconds, serverless_concurrency=serverless_concurrency, port=port,
                     shadow=shadow, targets=target or None, webhook=webhook, allow_unapproved=allow_unapproved,
                     feature_group=feature_group)
    if json_out:
        print_json(e.to_dict())
        return
    console.print(f"endpoint [bold]{e.name}[/bold] ({e.mode}) is {e.status} at {e.runtime.get('url')}")


@app.command("list")
def list_(json_out: bool = _JSON) -> None:
    """List endpoints with their observed status."""
    from rich.table import Table

    from loopml import serve

    rows = serve.list_endpoints()
    if json_out:
        print_json(rows)
        return
    table = Table("name", "mode", "models", "status", "url", box=None, header_style="bold")
    for r in rows:
        table.add_row(r["name"], r["mode"], ", ".join(r["models"]), r["status"], r["url"] or "-")
    console.print(table)


@app.command("describe")
def describe(name: str = _NAME, json_out: bool = _JSON) -> None:
    """Config, deployment state, and live figures (traffic, latency p50/p99, replicas, cold starts)."""
    from loopml import serve

    doc = serve.describe(name)
    if json_out:
        print_json(doc)
        return
    console.print(f"[bold]{name}[/bold] {doc['mode']} {doc['status']} {doc['runtime'].get('url', '')}")
    for v in (doc.get("live") or {}).get("variants", []):
        p50 = f"{v['p50_ms']:.2f}" if v["p50_ms"] is not None else "-"
        p99 = f"{v['p99_ms']:.2f}" if v["p99_ms"] is not None else "-"
        console.print(f"  {v['name']} ({v['model']}) weight={v['weight']:.0f} replicas={v['replicas']} "
                      f"requests={v['requests']} 5xx={v['errors_5xx']} p50={p50} ms p99={p99} ms "
                      f"cold starts={v['cold_starts_s']}")
    if doc["deployment"]:
        d = doc["deployment"]
        console.print(f"  last deployment {d.get('id')}: {d.get('strategy')} → {d['to']['model']} {d.get('state')} "
                      f"{d.get('reason') or ''}")


@app.command("update")
def update(
    name: str = _NAME,
    model: str = typer.Option(..., "--model", help="The new GROUP:VERSION or GROUP@approved."),
    strategy: str = typer.Option("all_at_once", help="all_at_once, canary or linear."),
    canary_percent: float = typer.Option(10.0, help="Canary: traffic share of the new version first."),
    step_percent: float = typer.Option(25.0, help="Linear: traffic added per step."),
    bake_seconds: float = typer.Option(0.0, help="Watch time per step; an alarm rolls back."),
    max_error_rate: float = typer.Option(0.05, help="Alarm: 5xx rate of the new version."),
    max_p99_ms: float = typer.Option(None, help="Alarm: p99 latency of the new version."),
    allow_unapproved: bool = typer.Option(False, help="Admin only, audited."),
    json_out: bool = _JSON,
) -> None:
    """Blue/green update to a new version (waits for Completed, RolledBack or Failed)."""
    from loopml import serve

    dep = serve.update(name, model, strategy=strategy, canary_percent=canary_percent, step_percent=step_percent,
                       bake_seconds=bake_seconds, max_error_rate=max_error_rate, max_p99_ms=max_p99_ms,
                       allow_unapproved=allow_unapproved)
    _report(dep, json_out)


def _report(dep: dict, json_out: bool) -> None:
    if json_out:
        print_json(dep)
    else:
        console.print(f"deployment {dep['id']} → {dep['to']['model']}: {dep['state']} {dep.get('reason') or ''}")
    if dep["state"] != "Completed":
        raise typer.Exit(1)


@app.command("rollback")
def rollback(name: str = _NAME, json_out: bool = _JSON) -> None:
    """Return to the previous Approved version of the endpoint's model group."""
    from loopml import serve

    _report(serve.rollback(name), json_out)


@app.command("delete")
def delete(name: str = _NAME) -> None:
    """Drain and stop the endpoint, and remove it."""
    from loopml import serve

    serve.delete(name)
    console.print(f"deleted endpoint {name}")


@app.command("stop")
def stop(name: str = _NAME) -> None:
    """Drain and stop the endpoint's processes; it stays defined."""
    from loopml import serve

    serve.stop_endpoint(name)
    console.print(f"stopped endpoint {name}")


@app.command("start-all")
def start_all() -> None:
    """Start every endpoint that should be running but is not (after a reboot or crash)."""
    from loopml import serve

    started = serve.start_all()
    console.print(f"started {', '.join(started)}" if started else "every endpoint is already running")


@app.command("logs")
def logs(name: str = _NAME, tail: int = typer.Option(100, help="Lines to show.")) -> None:
    """The endpoint process's and its replicas' logs."""
    from loopml import serve

    print(serve.logs(name, tail=tail))


@app.command("invoke")
def invoke(
    name: str = _NAME,
    body: str = typer.Option(None, help="The request body (default: read stdin); use @FILE to read a file."),
    content_type: str = typer.Option("application/json", help="application/json or text/csv."),
    target: str = typer.Option(None, help="Multi-model endpoints: the target model."),
) -> None:
    """Send one request to /invocations and print the answer."""
    from loopml import serve

    data = sys.stdin.buffer.read() if body is None else (
        Path(body[1:]).read_bytes() if body.startswith("@") else body.encode())
    resp = serve.invoke(name, data, content_type=content_type, target=target)
    print(resp.text)
    if resp.status_code >= 400:
        raise typer.Exit(1)


@app.command("ground-truth")
def ground_truth(name: str = _NAME, file: Path = typer.Argument(..., help="JSON Lines or CSV eventId,label.")) -> None:
    """Upload ground-truth labels for captured requests, by eventId."""
    from loopml.serve import capture

    result = capture.upload_ground_truth(name, file)
    console.print(f"stored {result['records']} labels ({result['digest'][:19]}…)")


def transform(
    model: str = typer.Option(..., "--model", help="GROUP:VERSION or GROUP@approved."),
    input_file: Path = typer.Option(..., "--input", help="A .parquet or .csv file."),
    output: Path = typer.Option(..., "--output", help="Output folder (part files + failures)."),
    workers: int = typer.Option(1, help="Parallel worker processes."),
    shard_rows: int = typer.Option(100_000, help="Rows per shard (the unit of resume)."),
    fmt: str = typer.Option("parquet", "--format", help="parquet or csv."),
    join: list[str] = typer.Option(None, "--join", help="Input columns copied to the output (repeat)."),
    allow_unapproved: bool = typer.Option(False, help="Admin only."),
    json_out: bool = _JSON,
) -> None:
    """Batch transform: predict a whole file in parallel shards; a killed job resumes where it stopped."""
    from dataclasses import asdict

    from loopml.serve.transform import transform as run

    result = run(model, input_file, output, workers=workers, shard_rows=shard_rows, fmt=fmt, join=join or None,
                 allow_unapproved=allow_unapproved, progress=not json_out)
    if json_out:
        print_json(asdict(result))
        return
    console.print(f"{result.rows} rows predicted, {result.failures} failed rows, {result.shards} shards "
                  f"({result.resumed_shards} resumed) in {result.seconds:.1f} s → {result.output}")
