"""Entry point of the ``loopml`` command.

Only what the command being run needs is imported: the table below lists every top-level command with
its help, and a command's module is imported when that command runs (``loopml --help`` imports none).
Every error is one line on stderr — exit code 2 for a usage error or a
:class:`~loopml.errors.LoopmlError`, 70 for a defect in loopml — and never a traceback (unless
``LOOPML_DEBUG=1``); see :mod:`loopml.cli._errors`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer

from loopml.cli._lazy import Entry, LazyGroup

_PREPARE, _TRAIN, _GOVERN = "Prepare", "Train", "Evaluate and govern"
_DEPLOY, _WATCH, _ADMIN = "Deploy", "Monitor and retrain", "Run and administer"

# name -> where the command lives (module:attribute under loopml.cli) and its one-line help
TABLE: dict[str, Entry] = {
    "data": Entry("data:app", "Datasets: register files or queries, list versions, profile, and query with SQL.",
                  _PREPARE),
    "features": Entry("features:app", "Feature groups: definitions, online values and materialization.", _PREPARE),
    "pipeline": Entry("pipeline:app", "Run pipelines and inspect their executions.", _PREPARE),
    "train": Entry("train:app", "Training jobs: run a script or a built-in algorithm, resume, interrupt.", _TRAIN),
    "runs": Entry("train:runs_app", "Tracked runs: list, show, compare, search, metric history.", _TRAIN),
    "tune": Entry("train:tune_app", "Hyperparameter tuning on Optuna; every trial is a tracked training job.",
                  _TRAIN),
    "model": Entry("model:app", "Model groups and versions: list, show, approve, reject, cards, settings.", _GOVERN),
    "evaluate": Entry("evaluate:app",
                      "Evaluation reports: metrics, champion vs challenger, slices, bias, SHAP, the gate.", _GOVERN),
    "lineage": Entry("model:lineage_app",
                     "Where things came from: which data and code produced a model, who approved it.", _GOVERN),
    "reproduce": Entry("reproduce:reproduce", "Re-run what produced a model version in a fresh home and compare "
                       "the digests: 'identical', or the first difference and its likely cause.", _GOVERN),
    "endpoint": Entry("endpoint:app",
                      "Endpoints: deploy approved models as real-time, serverless or async endpoints.", _DEPLOY),
    "transform": Entry("endpoint:transform", "Batch transform: predict a whole file in parallel shards; a killed "
                       "job resumes where it stopped.", _DEPLOY),
    "monitor": Entry("monitor:app", "Baselines, monitoring schedules and executions, events.", _WATCH),
    "alarms": Entry("monitor:alarms_app", "Alarms on endpoint metrics and monitor results (M of N datapoints).",
                    _WATCH),
    "rules": Entry("monitor:rules_app", "Event rules: pattern -> actions (pipeline, webhook, log), with a cooldown.",
                   _WATCH),
    "scheduler": Entry("monitor:scheduler", "Run the scheduler: monitoring and pipeline schedules, alarms, event "
                       "rules. Stops on SIGTERM.", _WATCH),
    "server": Entry("server:server", "Serve the REST API (OpenAPI at /openapi.json) and the web UI (at /) over the "
                    "configured stores.", _ADMIN),
    "tokens": Entry("server:tokens_app", "Bearer tokens for the REST API and web UI.", _ADMIN),
    "users": Entry("admin:users_app", "Users and their roles (viewer, data-scientist, approver, admin, invoker). "
                   "Without a command: list them.", _ADMIN),
    "audit": Entry("admin:audit_app", "The hash-chained audit log: list it, verify it, anchor it.", _ADMIN),
    "cluster": Entry("cluster:app", "The Ray cluster that runs steps, jobs, trials, shards and replicas "
                     "(LOOPML_CLUSTER).", _ADMIN),
    "config": Entry("config:app", "Settings: each effective value and where it came from (environment, loopml.toml "
                    "or default).", _ADMIN),
    "init": Entry("admin:init", "Create the loopml home (metadata database and artifact store). Optional: every "
                  "command does it on first use.", _ADMIN),
    "fsck": Entry("admin:fsck", "Check every recorded artifact against its hash and verify the audit chain. Exit 1 "
                  "on a problem.", _ADMIN),
    "gc": Entry("admin:gc", "Delete orphan blobs (written by a crashed writer, never recorded) and abandoned temp "
                "files.", _ADMIN),
    "demo": Entry("demo:demo", "Run the whole governed loop: prepare, train, evaluate, register, approve (as a "
                  "second person), deploy with capture, inject drift, monitor, alarm, retrain, gate, approve, "
                  "blue/green rollout, lineage.", _ADMIN),
}
LazyGroup.table = TABLE

app = typer.Typer(
    name="loopml",
    cls=LazyGroup,
    help="The governed ML loop: prepare, train, evaluate, deploy, monitor, retrain — on one laptop.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from loopml import __version__

        print(f"loopml {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                       help="Print the version and exit.")) -> None:
    pass


_command: list[Any] = []


def command() -> Any:
    """The root click command (built once per process)."""
    if not _command:
        import typer.main

        _command.append(typer.main.get_command(app))
    return _command[0]


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default: the process arguments) and return the exit code.

    Nothing escapes: usage errors and loopml errors are one line on stderr and exit code 2; an
    unexpected exception (a defect) is one line and exit code 70, with the traceback only when
    ``LOOPML_DEBUG=1``."""
    from loopml.cli import _errors

    args = list(argv) if argv is not None else sys.argv[1:]
    implicit = _implicit_home()
    _configure_logging()
    try:
        code = command().main(args=args, prog_name="loopml", standalone_mode=False)
    except BaseException as exc:  # noqa: BLE001  (every outcome becomes an exit code)
        return _errors.exit_code(exc)
    finally:
        if implicit is not None and implicit.is_dir():
            print(f"note: created the loopml home {implicit} here (metadata and artifacts); set LOOPML_HOME to "
                  "keep it elsewhere", file=sys.stderr)
    return code if isinstance(code, int) else 0


def _implicit_home() -> Any:
    """``./.loopml`` when no home is configured and it does not exist yet (this command may create it)."""
    import os
    from pathlib import Path

    if os.environ.get("LOOPML_HOME") or Path("loopml.toml").is_file():
        return None
    home = Path.cwd() / ".loopml"
    return None if home.exists() else home


def _configure_logging() -> None:
    """Key events to stderr at ``LOOPML_LOG_LEVEL``; a bad setting is left for the command to report."""
    from loopml.core import logs
    from loopml.errors import LoopmlError

    try:
        logs.configure()
    except LoopmlError:
        pass


def main() -> None:
    """The ``loopml`` console script."""
    sys.exit(run())


if __name__ == "__main__":
    main()
