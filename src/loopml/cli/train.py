"""``loopml train``, ``loopml runs`` and ``loopml tune``: training jobs, tracking and tuning from the shell."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import typer

from loopml.cli._progress import JobWatch, TrialTable
from loopml.cli._render import ago, bold, console, done, line, print_json, print_table, red, styled

app = typer.Typer(no_args_is_help=True, add_completion=False)
runs_app = typer.Typer(no_args_is_help=True, add_completion=False)
tune_app = typer.Typer(no_args_is_help=True, add_completion=False)

_JSON = typer.Option(False, "--json", help="Print as JSON.")


def _pairs(items: list[str] | None, what: str) -> dict[str, str]:
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{what} {item!r} must look like KEY=VALUE")
        out[key] = value
    return out


def _show(run: Any, json_out: bool) -> None:
    if json_out:
        print_json(run.to_dict())
        return
    console.print(line(bold(run.id), "  ", styled(run.status), f"  {run.kind}  experiment={run.experiment}"))
    if run.status_reason:
        console.print(f"  reason: {run.status_reason}")
    console.print(f"  statuses: {' -> '.join(run.statuses)}")
    console.print(f"  params: {json.dumps(run.params, default=str)}")
    console.print(f"  metrics: {json.dumps(run.metrics)}")
    console.print(f"  model: {run.model_digest or '-'}  compute {run.compute_seconds:.1f} s, "
                  f"lost to interruptions {run.interrupted_seconds:.1f} s")
    if run.error:
        console.print(red(run.error))


@app.command("run")
def run_(
    script: Path = typer.Argument(None, help="A training script (SageMaker script mode)."),
    algorithm: str = typer.Option(None, "--algorithm", "-a", help="A built-in algorithm instead of a script."),
    train: str = typer.Option(None, "--train", help="The train channel: a dataset (NAME or NAME@V) or a file."),
    validation: str = typer.Option(None, "--validation", help="The validation channel."),
    channel: list[str] = typer.Option(None, "--channel", "-c", help="More channels: NAME=SOURCE."),
    target: str = typer.Option(None, "--target", help="The label column (built-ins)."),
    hp: list[str] = typer.Option(None, "--hyperparameter", "-H", help="KEY=VALUE, repeatable."),
    experiment: str = typer.Option("default", help="The experiment."),
    max_runtime: float = typer.Option(None, help="Seconds of training before the job is stopped."),
    max_wait: float = typer.Option(None, help="Seconds from submission before the job is stopped."),
    max_restarts: int = typer.Option(0, help="Automatic restarts after an interruption."),
    metric: list[str] = typer.Option(None, "--metric", help="NAME=REGEX over the job output."),
    json_out: bool = _JSON,
) -> None:
    """Run a training job and wait for it (exit code 1 unless it COMPLETED)."""
    from loopml.train import jobs

    channels = _pairs(channel, "channel")
    channels.update({k: v for k, v in (("train", train), ("validation", validation)) if v})
    hps: dict[str, Any] = _pairs(hp, "hyperparameter")
    if target:
        hps["target"] = target
    definitions = [{"Name": k, "Regex": v} for k, v in _pairs(metric, "metric").items()]
    with JobWatch("training") as watch:
        run = jobs.run(script, algorithm=algorithm, channels=channels, hyperparameters=hps, experiment=experiment,
                       max_runtime=max_runtime, max_wait=max_wait, max_restarts=max_restarts,
                       metric_definitions=definitions, stream=not json_out, should_stop=watch)
    _show(run, json_out)
    raise typer.Exit(0 if run.status == "COMPLETED" else 1)


@app.command("resume")
def resume(run_id: str = typer.Argument(..., help="An INTERRUPTED run."), json_out: bool = _JSON) -> None:
    """Continue an interrupted job from its last verified checkpoint."""
    from loopml.train import jobs

    with JobWatch("resuming") as watch:
        run = jobs.resume(run_id, stream=not json_out, should_stop=watch)
    _show(run, json_out)
    raise typer.Exit(0 if run.status == "COMPLETED" else 1)


@app.command("interrupt")
def interrupt(run_id: str = typer.Argument(..., help="A running job."), json_out: bool = _JSON) -> None:
    """Ask a running job to checkpoint and stop (it becomes INTERRUPTED, resumable)."""
    from loopml.train import jobs

    signalled = jobs.interrupt(run_id)
    done(json_out, {"run_id": run_id, "signalled": signalled},
         f"signalled {run_id}; it checkpoints and stops" if signalled else f"{run_id} is not running")


@app.command("algorithms")
def algorithms(json_out: bool = _JSON) -> None:
    """The built-in algorithms and their hyperparameters."""
    from loopml.train.algorithms import describe

    items = describe()
    if json_out:
        print_json(items)
        return
    for item in items:
        console.print(line(bold(item['name']), f" ({', '.join(item['tasks'])}) — {item['description']}"))
        for h in item["hyperparameters"]:
            console.print(f"    {h['name']}: {h['type']} = {h['default']!r}  {h['help']}")


def _table(runs: list[Any], json_out: bool) -> None:
    if json_out:
        print_json([r.to_dict() for r in runs])
        return
    from rich.table import Table

    table = Table("run", "experiment", "kind", "status", "metrics", "created", box=None, header_style="bold")
    for r in runs:
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in r.metrics.items() if v is not None)
        table.add_row(r.id, r.experiment, r.kind, styled(r.status), metrics[:70], ago(r.created_at))
    print_table(table)


@runs_app.command("list")
def list_(
    experiment: str = typer.Option(None, help="Only this experiment."),
    kind: str = typer.Option(None, help="training, tuning, processing, evaluation or transform."),
    status: str = typer.Option(None, help="COMPLETED, FAILED, …"),
    parent: str = typer.Option(None, help="Trials of this tuning run."),
    limit: int = typer.Option(50, help="How many."),
    json_out: bool = _JSON,
) -> None:
    """Runs, newest first."""
    from loopml.train import tracking

    _table(tracking.list_runs(experiment=experiment, kind=kind, status=status, parent_id=parent, limit=limit),
           json_out)


@runs_app.command("show")
def show(run_id: str, json_out: bool = _JSON) -> None:
    """One run: status history, params, metrics, inputs, outputs, code and environment."""
    from loopml.train import tracking

    _show(tracking.get_run(run_id), json_out)


@runs_app.command("compare")
def compare(run_ids: list[str], json_out: bool = _JSON) -> None:
    """Runs side by side: their params and latest metrics."""
    from rich.table import Table

    from loopml.train import tracking

    table_data = tracking.compare_runs(run_ids)
    if json_out:
        print_json(table_data)
        return
    table = Table("", *table_data["runs"], box=None, header_style="bold")
    table.add_row("status", *table_data["status"])
    for section in ("params", "metrics"):
        for key, values in table_data[section].items():
            table.add_row(f"{section}.{key}", *["-" if v is None else str(v) for v in values])
    print_table(table)


@runs_app.command("search")
def search(
    query: str = typer.Argument(..., help='e.g. "metrics.auc > 0.8 and params.max_depth = 6"'),
    experiment: str = typer.Option(None, help="Only this experiment."),
    json_out: bool = _JSON,
) -> None:
    """Runs matching a search over metrics, params, tags, status, kind, name and experiment."""
    from loopml.train import tracking

    _table(tracking.search_runs(query, experiment=experiment), json_out)


@runs_app.command("metrics")
def metrics(run_id: str, key: str, json_out: bool = _JSON) -> None:
    """The series of one metric of a run."""
    from loopml.train import tracking

    points = tracking.metric_history(run_id, key)
    if json_out:
        print_json([p.__dict__ for p in points])
        return
    for p in points:
        console.print(f"{p.step}\t{p.value}")


@tune_app.command("run")
def tune_run(
    script: Path = typer.Argument(None, help="A training script; or use --algorithm."),
    algorithm: str = typer.Option(None, "--algorithm", "-a", help="A built-in algorithm."),
    train: str = typer.Option(None, "--train", help="The train channel."),
    validation: str = typer.Option(None, "--validation", help="The validation channel."),
    target: str = typer.Option(None, "--target", help="The label column (built-ins)."),
    hp: list[str] = typer.Option(None, "--hyperparameter", "-H", help="Fixed KEY=VALUE."),
    space: list[str] = typer.Option(..., "--space", "-s", help="NAME=int:2:8 | float:0.01:0.3:log | cat:a,b"),
    objective: str = typer.Option(..., help="The metric to optimize, e.g. validation:auc."),
    direction: str = typer.Option("maximize", help="maximize or minimize."),
    max_trials: int = typer.Option(20, help="Number of trials."),
    max_parallel: int = typer.Option(1, help="Trials at once."),
    sampler: str = typer.Option("tpe", help="tpe, random or grid."),
    pruner: str = typer.Option("median", help="median, hyperband or none."),
    early_stop: int = typer.Option(None, help="Stop after this many trials without improvement."),
    warm_start: str = typer.Option(None, help="An earlier tuning run to warm-start from."),
    json_out: bool = _JSON,
) -> None:
    """Tune hyperparameters; prints the trial table and the best trial."""
    from loopml.train.tuning import parse_space, tune

    hps: dict[str, Any] = _pairs(hp, "hyperparameter")
    if target:
        hps["target"] = target
    channels = {k: v for k, v in (("train", train), ("validation", validation)) if v}
    dimensions = parse_space(space)
    table = TrialTable(list(dimensions), objective, direction)
    with table if not json_out else nullcontext():
        result = tune(dimensions, objective=objective, direction=direction, script=str(script) if script else None,
                      algorithm=algorithm, channels=channels, hyperparameters=hps, max_trials=max_trials,
                      max_parallel=max_parallel, sampler=sampler, pruner=None if pruner == "none" else pruner,
                      early_stopping_trials=early_stop, warm_start_from=warm_start,
                      on_trial=None if json_out else table)
    if json_out:
        print_json(result.__dict__)
        return
    print_table(table.table())
    console.print(line(bold("best"), f" trial run {result.best_run_id}: {objective}={result.best_value} "
                       f"{result.best_params}; tuning run {result.run_id}"
                       + (" (stopped early)" if result.stopped_early else "")))
