"""The pre-imported worker pool (zygote): children fork with the model libraries already imported and
without the parent's credentials."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

_CHILD = r"""
import json
from concurrent.futures import ProcessPoolExecutor
import multiprocessing.forkserver as fs
from loopml.serve._zygote import zygote
from tests.serve.zygote_probe import report

with ProcessPoolExecutor(1, mp_context=zygote()) as pool:
    out = pool.submit(report).result(timeout=240)
out["zygote_pid"] = fs._forkserver._forkserver_pid
print(json.dumps(out))
"""


@pytest.mark.timeout(900)  # a busy machine (CPU hogs at 2x the cores) stretches it several times
def test_children_fork_preloaded_and_without_credentials() -> None:
    env = {**os.environ, "AWS_SECRET_ACCESS_KEY": "canary-secret", "LOOPML_DB": "postgresql://u:pw@h/db",
           "LOOPML_FAULTS": "", "MY_API_TOKEN": "canary-token"}
    proc = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).parents[2])
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.splitlines()[-1])
    assert out["preloaded"] == ["pandas", "sklearn", "skops", "uvicorn"]  # imported before the fork
    assert out["ppid"] == out["zygote_pid"]  # forked from the zygote, not spawned
    leaked = [k for k, v in out["env"].items() if "canary" in v or k in ("LOOPML_DB", "AWS_SECRET_ACCESS_KEY")]
    assert not leaked and out["env"].get("PATH")


_ENDPOINT = r"""
import asyncio, sys, time
from pathlib import Path
from tests.serve.live import replica_set

with replica_set(Path(sys.argv[1])) as replicas:
    print(replicas.replicas[0].proc.pid, flush=True)
    time.sleep(600)
"""


@pytest.mark.timeout(900)  # a busy machine (CPU hogs at 2x the cores) stretches it several times
def test_replicas_exit_when_their_endpoint_process_is_killed(tmp_path: Path) -> None:
    """A forked replica's parent is the zygote, which outlives the endpoint: the replica watches the endpoint."""
    import signal
    import time

    import psutil

    endpoint = subprocess.Popen([sys.executable, "-c", _ENDPOINT, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                                cwd=Path(__file__).parents[2])
    replica = psutil.Process(int(endpoint.stdout.readline()))
    os.kill(endpoint.pid, signal.SIGKILL)
    endpoint.wait(30)
    deadline = time.monotonic() + 120
    while replica.is_running() and replica.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.2)
    gone = not replica.is_running() or replica.status() == psutil.STATUS_ZOMBIE
    if not gone:
        replica.kill()
    assert gone, "the replica outlived its endpoint process"
