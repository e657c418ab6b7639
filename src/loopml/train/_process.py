"""One attempt of a job: the subprocess, its live logs, regex metrics, heartbeats and stop requests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopml.core import clock, context
from loopml.train import _records, tracking
from loopml.train._signals import INTERRUPTED_EXIT
from loopml.train._workdir import Layout

HEARTBEAT_SECONDS = 2.0


@dataclass
class Attempt:
    """What one attempt needs and what came of it."""

    run_id: str
    command: list[str]
    env: dict[str, str]
    layout: Layout
    cwd: Path
    metric_regexes: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)
    stream: bool = True
    time_left: float | None = None
    stop_grace: float = 10.0
    should_stop: Callable[[str], str | None] | None = None
    on_tick: Callable[[], None] | None = None
    preexec: Callable[[], None] | None = None  # run in the job process before it starts (cluster nodes)
    # results
    returncode: int | None = None
    stop_reason: str | None = None
    seconds: float = 0.0
    tail: list[str] = field(default_factory=list)


def compile_metric_definitions(definitions: list[dict[str, str]] | None) -> list[tuple[str, re.Pattern[str]]]:
    """SageMaker-style ``[{"Name": "train:loss", "Regex": "loss=([0-9.]+)"}]`` as compiled patterns."""
    out = []
    for item in definitions or []:
        name, pattern = item.get("Name") or item.get("name"), item.get("Regex") or item.get("regex")
        try:
            out.append((str(name), re.compile(str(pattern))))
        except re.error as exc:
            from loopml.errors import ValidationError

            raise ValidationError(f"metric definition {name!r} has an invalid regex {pattern!r}: {exc}") from exc
    return out


class _LogPump(threading.Thread):
    """Reads the job's output line by line: echo, store, and pick metrics out by regex."""

    def __init__(self, attempt: Attempt, stdout: Any) -> None:
        super().__init__(daemon=True)
        self.attempt, self.stdout = attempt, stdout
        self.points: list[tuple[str, float, int, float]] = []
        self.steps: dict[str, int] = {}
        self.lock = threading.Lock()

    def run(self) -> None:
        with open(self.attempt.layout.logs, "a", encoding="utf-8") as log:
            for raw in iter(self.stdout.readline, b""):
                line = raw.decode("utf-8", errors="replace")
                log.write(line)
                log.flush()
                if self.attempt.stream:
                    sys.stdout.write(line)
                    sys.stdout.flush()
                self._match(line)
                self.attempt.tail = (self.attempt.tail + [line.rstrip("\n")])[-30:]

    def _match(self, line: str) -> None:
        for name, pattern in self.attempt.metric_regexes:
            found = pattern.search(line)
            if found:
                try:
                    value = float(found.group(1))
                except (IndexError, ValueError):
                    continue
                with self.lock:
                    step = self.steps.get(name, -1) + 1
                    self.steps[name] = step
                    self.points.append((name, value, step, time.time()))

    def drain(self) -> list[tuple[str, float, int, float]]:
        with self.lock:
            points, self.points = self.points, []
        return points


def run_attempt(attempt: Attempt) -> Attempt:
    """Start the job process and supervise it until it exits; fills ``returncode`` and ``stop_reason``."""
    started = time.monotonic()
    proc = subprocess.Popen(attempt.command, cwd=attempt.cwd, env=attempt.env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=attempt.preexec)
    attempt.layout.pid_file.write_text(str(proc.pid))
    pump = _LogPump(attempt, proc.stdout)
    pump.start()
    try:
        _supervise(attempt, proc, pump, started)
    except KeyboardInterrupt:
        _terminate(proc, attempt.stop_grace)
        attempt.stop_reason = "interrupted from the console"
    pump.join(timeout=5)
    _flush(attempt.run_id, pump)
    attempt.returncode = proc.returncode
    attempt.seconds = time.monotonic() - started
    attempt.layout.pid_file.unlink(missing_ok=True)
    return attempt


def _supervise(attempt: Attempt, proc: subprocess.Popen[bytes], pump: _LogPump, started: float) -> None:
    last_beat = 0.0
    while proc.poll() is None:
        try:
            proc.wait(timeout=0.25)
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if attempt.time_left is not None and now - started > attempt.time_left:
            attempt.stop_reason = "MaxRuntimeExceeded"
            _terminate(proc, attempt.stop_grace)
        elif attempt.should_stop is not None and (reason := attempt.should_stop(attempt.run_id)):
            attempt.stop_reason = reason
            _terminate(proc, attempt.stop_grace)
        if now - last_beat >= HEARTBEAT_SECONDS:
            last_beat = now
            _flush(attempt.run_id, pump)
            _heartbeat(attempt.run_id)
            if attempt.on_tick is not None:
                attempt.on_tick()


def _terminate(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds (the job may checkpoint in between)."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _flush(run_id: str, pump: _LogPump) -> None:
    points = pump.drain()
    if points:
        tracking.log_metrics(run_id, points)


def _heartbeat(run_id: str) -> None:
    with context.get_db().write() as conn:
        _records.update_run(conn, run_id, heartbeat_at=clock.now())


def outcome(attempt: Attempt) -> str:
    """The run status an attempt ended in."""
    if attempt.stop_reason is not None and attempt.stop_reason != "interrupted from the console":
        return _records.STOPPED
    if attempt.returncode == 0:
        return _records.COMPLETED
    if attempt.returncode == INTERRUPTED_EXIT or (attempt.returncode or 0) < 0:
        return _records.INTERRUPTED
    return _records.FAILED


def is_alive(pid_file: Path) -> bool:
    """True when the job process named in ``pid_file`` still runs."""
    try:
        os.kill(int(pid_file.read_text()), 0)
    except (OSError, ValueError):
        return False
    return True
