"""``loopml demo``."""

from __future__ import annotations

from loopml.cli._render import console


def demo() -> None:
    """Run the whole loop that exists today on generated churn data, with live progress."""
    from loopml.cli.pipeline import _Progress, _summary
    from loopml.core import context
    from loopml.demo.runner import run_demo

    runs = []

    def on_event(event: str, **info: object) -> None:
        runs[-1](event, **info)

    def say(text: str) -> None:
        if runs:
            runs[-1].live.stop()
        console.print(text)
        runs.append(_Progress())

    executions = run_demo(on_event=on_event, say=say)
    runs[-1].live.stop()
    for info in executions:
        _summary(info)
    second = executions[-1]
    hits = sum(s.cache_hit for s in second.steps)
    console.print(f"\nsecond run: {hits} of {len(second.steps)} steps were cache hits")
    console.print(f"home: {context.get_settings().home}\nexplore: loopml pipeline list · "
                  f"loopml pipeline show {second.id} · loopml audit log")
