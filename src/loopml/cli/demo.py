"""``loopml demo``: the whole loop on generated churn data, unattended, with live progress."""

from __future__ import annotations

from typing import Any

from loopml.cli._render import bold, console


def demo() -> None:
    """Run the whole governed loop: prepare, train, evaluate, register, approve (as a second person), deploy
    with capture, inject drift, monitor, alarm, retrain, gate, approve, blue/green rollout, lineage."""
    from loopml.cli.model import lineage_model
    from loopml.cli.pipeline import StepProgress
    from loopml.core import context
    from loopml.demo.loop import run_loop

    progress: list[Any] = []

    def on_event(event: str, **info: Any) -> None:
        if not progress:
            progress.append(StepProgress())
        progress[-1](event, **info)
        if event == "execution":
            progress.pop().stop()

    def say(text: str) -> None:  # a stage's heading is bold, its details (indented) are not
        console.print(text if text.startswith(" ") else bold(text))

    result = run_loop(say=say, on_event=on_event)
    console.print()
    console.print(bold("The path the loop took"))
    for n, step in enumerate(result["path"], 1):
        console.print(f"  {n:>2}. {step}")
    console.print()
    console.print(bold(f"Lineage of the model now serving ({result['serving']})"))
    lineage_model(result["serving"], json_out=False)
    home = context.get_settings().home
    console.print(f"\nfinished in {result['seconds']:.0f} s; everything is in {home}. Explore:")
    console.print(f"  export LOOPML_HOME={home}")
    for command in ("loopml model list churn", f"loopml lineage model {result['serving']}",
                    f"loopml model card {result['serving']}", "loopml pipeline list",
                    "loopml monitor executions", "loopml alarms list", "loopml audit log", "loopml audit verify",
                    "loopml server --single-user   # the web UI at http://127.0.0.1:8080/ui"):
        console.print(f"  {command}")
