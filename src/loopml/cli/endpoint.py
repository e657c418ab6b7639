"""``loopml endpoint`` and ``loopml transform``: serving from the command line (thin over loopml.serve)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import typer

from loopml.cli._progress import spinner
from loopml.cli._render import bold, console, done, line, print_json, print_table

app = typer.Typer(no_args_is_help=True, add_completion=False)

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
    placement: str = typer.Option(None, help="local or cluster (replicas as Ray actors); default cluster when "
                                             "LOOPML_CLUSTER is set."),
    replica_cpus: float = typer.Option(None, help="On a cluster: CPUs each replica reserves on its node."),
    json_out: bool = _JSON,
) -> None:
    """Create an endpoint and start it."""
    from loopml import serve

    with spinner(f"starting endpoint {name} ({model}): loading the model in its replicas"):
        e = serve.create(name, model, mode=mode, min_replicas=min_replicas, max_replicas=max_replicas,
                         target_in_flight=target_in_flight, max_concurrency=max_concurrency, capture_percent=capture,
                         idle_seconds=idle_seconds, serverless_concurrency=serverless_concurrency, port=port,
                         shadow=shadow, targets=target or None, webhook=webhook,
                         allow_unapproved=allow_unapproved, feature_group=feature_group, placement=placement,
                         replica_resources=None if replica_cpus is None else {"cpus": replica_cpus})
    if json_out:
        print_json(e.to_dict())
        return
    console.print(line("endpoint ", bold(e.name), f" ({e.mode}) is {e.status} at {e.runtime.get('url')}"))


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
    print_table(table)


@app.command("show")
def describe(name: str = _NAME, json_out: bool = _JSON) -> None:
    """Config, deployment state, and live figures (traffic, latency p50/p99, replicas, cold starts)."""
    from loopml import serve

    doc = serve.describe(name)
    if json_out:
        print_json(doc)
        return
    console.print(line(bold(name), f" {doc['mode']} {doc['status']} {doc['runtime'].get('url', '')}"))
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


app.command("describe", hidden=True, help="Same as 'loopml endpoint show'.")(describe)


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

    with spinner(f"rolling endpoint {name} to {model} ({strategy})"):
        dep = serve.update(name, model, strategy=strategy, canary_percent=canary_percent, step_percent=step_percent,
                           bake_seconds=bake_seconds, max_error_rate=max_error_rate, max_p99_ms=max_p99_ms,
                           allow_unapproved=allow_unapproved)
    _report(dep, json_out)


def _report(dep: dict[str, Any], json_out: bool) -> None:
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
def delete(name: str = _NAME, json_out: bool = _JSON) -> None:
    """Drain and stop the endpoint, and remove it."""
    from loopml import serve

    serve.delete(name)
    done(json_out, {"endpoint": name, "deleted": True}, f"deleted endpoint {name}")


@app.command("stop")
def stop(name: str = _NAME, json_out: bool = _JSON) -> None:
    """Drain and stop the endpoint's processes; it stays defined."""
    from loopml import serve

    serve.stop_endpoint(name)
    done(json_out, {"endpoint": name, "stopped": True}, f"stopped endpoint {name}")


@app.command("start-all")
def start_all(json_out: bool = _JSON) -> None:
    """Start every endpoint that should be running but is not (after a reboot or crash)."""
    from loopml import serve

    started = serve.start_all()
    done(json_out, {"started": started},
         f"started {', '.join(started)}" if started else "every endpoint is already running")


@app.command("logs")
def logs(name: str = _NAME, tail: int = typer.Option(100, help="Lines to show."), json_out: bool = _JSON) -> None:
    """The endpoint process's and its replicas' logs."""
    from loopml import serve

    text = serve.logs(name, tail=tail)
    if json_out:
        print_json({"endpoint": name, "lines": text.splitlines()})
    else:
        print(text)


@app.command("invoke")
def invoke(
    name: str = _NAME,
    body: str = typer.Option(None, help="The request body (default: read stdin); use @FILE to read a file."),
    content_type: str = typer.Option("application/json", help="application/json or text/csv."),
    target: str = typer.Option(None, help="Multi-model endpoints: the target model."),
    json_out: bool = typer.Option(False, "--json", help="Print the status, headers and body as one JSON object."),
) -> None:
    """Send one request to /invocations and print the answer."""
    from loopml import serve
    from loopml.core import userfiles

    data = sys.stdin.buffer.read() if body is None else (
        userfiles.read_bytes(body[1:], "request body file") if body.startswith("@") else os.fsencode(body))
    resp = serve.invoke(name, data, content_type=content_type, target=target)
    if json_out:
        try:
            body_doc = resp.json()
        except ValueError:
            body_doc = resp.text
        print_json({"status": resp.status_code, "content_type": resp.headers.get("content-type"), "body": body_doc})
    else:
        print(resp.text)
    if resp.status_code >= 400:
        raise typer.Exit(1)


@app.command("ground-truth")
def ground_truth(name: str = _NAME, file: Path = typer.Argument(
        ..., help="JSON Lines (SageMaker's ground-truth records) or CSV eventId,label; or a folder of them, "
                  "e.g. yyyy/mm/dd/hh/labels.jsonl."), json_out: bool = _JSON) -> None:
    """Upload ground-truth labels, merged by inferenceId (when the request sent one) or eventId."""
    from loopml.serve import capture

    result = capture.upload_ground_truth(name, file)
    done(json_out, result, f"stored {result['records']} labels ({result['digest'][:19]}…)")


@app.command("flush-capture")
def flush_capture(name: str = _NAME, json_out: bool = _JSON) -> None:
    """Upload the capture of the open hour now (closed hours upload within a minute by themselves)."""
    from loopml import serve
    from loopml.serve import capture

    files = serve.flush_capture(name)
    where = f"{capture.capture_root()}/{name}/"
    done(json_out, {"endpoint": name, "files": files, "where": where}, f"{files} capture files under {where}")


@app.command("advise")
def advise(
    name: str = _NAME,
    window: str = typer.Option("7d", "--window", help="The traffic to learn from: 7d, 24h, 90m."),
    target_ms: float = typer.Option(None, "--target-ms", help="Latency target per request (ms). Without it: no "
                                    "interactive target, an answer within --max-wait."),
    max_wait: float = typer.Option(3600.0, "--max-wait", help="Seconds a request may wait without --target-ms."),
    slo: float = typer.Option(0.99, "--slo", help="Fraction of requests that must meet the target."),
    prices: Path = typer.Option(None, "--prices", help="A JSON or TOML price table laid over the default one."),
    json_out: bool = _JSON,
) -> None:
    """Which serving mode fits this endpoint's recorded traffic: each mode's expected p50/p99 latency, share of
    requests meeting the target and cost per month (a simulation over the recorded arrivals), and why."""

    from loopml.monitor.advice import advise as run

    found = run(name, window=window, target_ms=target_ms, max_wait_s=max_wait, slo=slo, prices=prices)
    if json_out:
        print_json(found)
        return
    console.print(f"{name}: {found['recommended']}", style="bold", end="")
    console.print(f" (now {found.get('current_mode') or '?'})")
    for reason in found["reasons"]:
        console.print(f"  {reason}")
    measured = found["inputs"]["measured"]
    console.print(f"  used: service {found['inputs']['service_ms']:.1f} ms ({measured.get('service_ms')}),"
                  f" cold start {found['inputs']['cold_start_s']:.2f} s ({measured.get('cold_start_s')})")
    console.print(f"  prices: {found['prices']['source']}")


def transform(
    model: str = typer.Option(..., "--model", help="GROUP:VERSION or GROUP@approved."),
    input_file: Path = typer.Option(..., "--input", help="A .parquet or .csv file."),
    output: Path = typer.Option(..., "--output", help="Output folder (part files + failures)."),
    workers: int = typer.Option(1, help="Parallel worker processes."),
    shard_rows: int = typer.Option(100_000, help="Rows per shard (the unit of resume)."),
    fmt: str = typer.Option("parquet", "--format", help="parquet or csv."),
    join: list[str] = typer.Option(None, "--join", help="Input columns copied to the output (repeat)."),
    probabilities: bool = typer.Option(False, "--probabilities",
                                       help="Also write probability_<class> columns (classifiers)."),
    allow_unapproved: bool = typer.Option(False, help="Admin only."),
    json_out: bool = _JSON,
) -> None:
    """Batch transform: predict a whole file in parallel shards; a killed job resumes where it stopped."""
    from dataclasses import asdict

    from loopml.serve.transform import transform as run

    result = run(model, input_file, output, workers=workers, shard_rows=shard_rows, fmt=fmt, join=join or None,
                 probabilities=probabilities, allow_unapproved=allow_unapproved, progress=not json_out)
    if json_out:
        print_json(asdict(result))
        return
    console.print(f"{result.rows} rows predicted, {result.failures} failed rows, {result.shards} shards "
                  f"({result.resumed_shards} resumed) in {result.seconds:.1f} s → {result.output}")
