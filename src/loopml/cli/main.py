"""Entry point of the ``loopml`` command. Heavy libraries are imported inside commands, so ``--help``
answers fast. Every :class:`~loopml.errors.LoopmlError` becomes one line on stderr and exit code 2."""

from __future__ import annotations

import sys

import typer

from loopml.cli import (
    admin,
    data,
    demo,
    endpoint,
    evaluate,
    features,
    model,
    monitor,
    pipeline,
    server,
    train,
)

app = typer.Typer(
    name="loopml",
    help="The governed ML loop: prepare, train, evaluate, deploy, monitor, retrain — on one laptop.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data.app, name="data")
app.add_typer(features.app, name="features")
app.add_typer(pipeline.app, name="pipeline")
app.add_typer(train.app, name="train")
app.add_typer(train.runs_app, name="runs")
app.add_typer(train.tune_app, name="tune")
app.add_typer(model.app, name="model")
app.add_typer(evaluate.app, name="evaluate")
app.add_typer(model.lineage_app, name="lineage")
app.add_typer(endpoint.app, name="endpoint")
app.command("transform")(endpoint.transform)
app.add_typer(monitor.app, name="monitor")
app.add_typer(monitor.alarms_app, name="alarms")
app.add_typer(monitor.rules_app, name="rules")
app.command("scheduler")(monitor.scheduler)
app.command("server")(server.server)
app.add_typer(server.tokens_app, name="tokens")
app.add_typer(admin.audit_app, name="audit")
app.add_typer(admin.users_app, name="users")
admin.register(app)
app.command("demo")(demo.demo)


def main() -> None:
    """Run the CLI, turning loopml errors into a single line and exit code 2."""
    from loopml.errors import LoopmlError

    try:
        code = app(standalone_mode=False)
    except LoopmlError as exc:
        from loopml.cli._render import err_console

        err_console.print(f"[red]error:[/red] {exc.message}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # click usage errors and aborts
        import click

        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(2)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(1)
        raise
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
