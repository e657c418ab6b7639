from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def exec_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "exec_log"
    folder.mkdir()
    monkeypatch.setenv("EXEC_LOG", str(folder))
    return folder


def counts(folder: Path) -> dict[str, int]:
    return {p.name: len(p.read_text().splitlines()) for p in folder.iterdir()}


class Orchestrator:
    """A pipeline run in its own process, so a test can SIGKILL or SIGSTOP it for real."""

    def __init__(self, target: str, *, executor: str = "local", env: dict[str, str] | None = None) -> None:
        code = (
            "import sys; from loopml.pipelines import run; "
            f"info = run({target!r}, executor={executor!r}); sys.exit(0 if info.status == 'SUCCEEDED' else 1)"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def wait_for(self, path: Path, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while not path.exists():
            if self.proc.poll() is not None:
                raise AssertionError(f"orchestrator exited early: {self.proc.communicate()[1][-2000:]}")
            if time.time() > deadline:
                raise AssertionError(f"{path} never appeared")
            time.sleep(0.02)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        _, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, err


@pytest.fixture
def orchestrators() -> Iterator[list[Orchestrator]]:
    started: list[Orchestrator] = []
    yield started
    for orch in started:
        if orch.proc.poll() is None:
            orch.proc.kill()
            orch.proc.wait(10)
