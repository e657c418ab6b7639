"""``loopml pipeline``: run, list, show, resume and reap pipeline executions."""

from __future__ import annotations

from typing import Any

import typer
from rich.text import Text

from loopml.cli._render import ago, bold, console, line, print_json, print_table, red, styled

app = typer.Typer(no_args_is_help=True, add_completion=False)

_EXECUTOR = typer.Option(
    None, "--executor", "-e",
    help="local (worker processes here), inline (this process) or ray (a Ray task per step on the cluster "
         "named by LOOPML_CLUSTER). Default: ray when a cluster is set, else local.")


def _parse_params(items: list[str]) -> dict[str, str]:
    from loopml.errors import ValidationError

    params = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValidationError(f"parameter {item!r} must be NAME=VALUE")
        params[name.strip()] = value
    return params


class StepProgress:
    """A live table of step statuses while a pipeline runs."""

    def __init__(self) -> None:
        from rich.live import Live

        self.rows: dict[str, str] = {}
        self.live = Live(self._table(), console=console, refresh_per_second=8, transient=False)

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(show_header=True, header_style="bold", box=None)
        table.add_column("step")
        table.add_column("status")
        for step, status in self.rows.items():
            table.add_row(step, styled(status))
        return table

    def stop(self) -> None:
        """End the live display (on a pipe, Rich leaves the last frame without a newline: add one)."""
        if self.live.is_started:
            self.live.stop()
            if not console.is_terminal:
                console.print()

    def __call__(self, event: str, **info: Any) -> None:
        if event == "step":
            if not self.rows:
                self.live.start()
            self.rows[info["step"]] = info["status"]
            self.live.update(self._table())


def _run_with_progress(fn: Any, *args: Any, **kwargs: Any) -> Any:
    progress = StepProgress()
    try:
        return fn(*args, on_event=progress, **kwargs)
    finally:
        progress.stop()


@app.command("run")
def run(
    target: str = typer.Argument(..., help="MODULE:PIPELINE or path/to/file.py:PIPELINE"),
    param: list[str] = typer.Option([], "--param", "-p", help="Override a parameter: -p name=value (repeatable)."),
    executor: str | None = _EXECUTOR,
    no_cache: bool = typer.Option(False, "--no-cache", help="Re-run every step even if an identical result exists."),
    json_out: bool = typer.Option(False, "--json", help="Print the finished execution as JSON."),
) -> None:
    """Run a pipeline, showing each step's status live. Exit 1 if the execution failed."""
    from loopml.pipelines import run as run_pipeline

    params = _parse_params(param)
    if json_out:
        info = run_pipeline(target, params=params, executor=executor, cache=not no_cache)
        print_json(info.to_dict())
    else:
        info = _run_with_progress(run_pipeline, target, params=params, executor=executor, cache=not no_cache)
        _summary(info)
    raise typer.Exit(0 if info.status == "SUCCEEDED" else 1)


@app.command("resume")
def resume(
    execution_id: str = typer.Argument(..., help="The execution to finish (see 'loopml pipeline list')."),
    executor: str | None = _EXECUTOR,
    json_out: bool = typer.Option(False, "--json", help="Print the finished execution as JSON."),
) -> None:
    """Finish an execution whose orchestrator died; only steps that had not succeeded run again."""
    from loopml.pipelines import resume as resume_pipeline

    if json_out:
        info = resume_pipeline(execution_id, executor=executor)
        print_json(info.to_dict())
    else:
        info = _run_with_progress(resume_pipeline, execution_id, executor=executor)
        _summary(info)
    raise typer.Exit(0 if info.status == "SUCCEEDED" else 1)


@app.command("list")
def list_(
    name: str = typer.Option(None, help="Only executions of this pipeline."),
    status: str = typer.Option(None, help="Only this status (RUNNING, SUCCEEDED, FAILED)."),
    limit: int = typer.Option(20, help="How many."),
    offset: int = typer.Option(0, help="Skip this many (pagination)."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """List pipeline executions, newest first."""
    from loopml.pipelines import list_executions

    rows = list_executions(name=name, status=status, limit=limit, offset=offset)
    if json_out:
        print_json(rows)
        return
    from rich.table import Table

    table = Table("execution", "pipeline", "status", "started", "by", box=None, header_style="bold")
    for row in rows:
        table.add_row(row["id"], row["name"], styled(row["status"]), ago(row["started_at"]), row["created_by"])
    print_table(table)


@app.command("show")
def show(
    execution_id: str = typer.Argument(..., help="The execution id."),
    logs: bool = typer.Option(False, "--logs", help="Also print each step's captured output."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Show an execution: the DAG with each step's status, cache hits, timings, outputs and errors."""
    from loopml.pipelines import get_execution

    info = get_execution(execution_id)
    if json_out:
        print_json(info.to_dict())
        return
    _summary(info, logs=logs)


def _summary(info: Any, *, logs: bool = False) -> None:
    from rich.tree import Tree

    code = info.code or {}
    commit = (code.get("commit") or "no git")[:12] + (" (dirty)" if code.get("dirty") else "")
    console.print(line(bold(info.name), f" {info.id}  ", styled(info.status), f"  code {commit}  params {info.params}"),
                  highlight=False)
    children: dict[str, list[Any]] = {}
    for step in info.steps:
        for up in step.upstream[:1]:
            children.setdefault(up, []).append(step)
    roots = [s for s in info.steps if not s.upstream]
    tree = Tree("DAG")

    def add(node: Any, step: Any) -> None:
        ms = f"{step.duration_ms:.0f} ms" if step.duration_ms is not None else ""
        extra = f" ← {', '.join(step.upstream)}" if len(step.upstream) > 1 else ""
        out = f" → {step.output_digest[:19]}…" if step.output_digest else ""
        branch = node.add(line(f"{step.step}  ", styled(step.status), f"{' (cache hit)' if step.cache_hit else ''}"
                          f"  {ms}{out}{extra}"))
        if step.error and step.status in ("FAILED", "SKIPPED"):
            branch.add(red(step.error.strip().splitlines()[-1]) if step.status == "FAILED"
                       else Text(step.error, style="dim"))
        if logs and step.logs:
            branch.add(Text(step.logs.strip()[-2000:], style="dim"))
        for child in children.get(step.step, []):
            add(branch, child)

    for root in roots:
        add(tree, root)
    console.print(tree)
    if info.error:
        console.print(line(red("error:"), f" {info.error}"))


@app.command("reap")
def reap(json_out: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Mark executions whose orchestrator died (lease lapsed) as FAILED(worker_lost)."""
    from loopml.pipelines import reap as reap_executions

    lost = reap_executions()
    if json_out:
        print_json({"reaped": list(lost)})
        return
    console.print(f"{len(lost)} lost executions marked FAILED" + (f": {', '.join(lost)}" if lost else ""))
