"""Pipelines on a real multi-node Ray cluster: resources, node loss, records, loopback-only ports, bad setup."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa

from loopml.config import reset_settings
from loopml.core import context
from loopml.core.integrity import fsck
from loopml.core.work import list_work
from loopml.errors import ClusterError, ValidationError
from loopml.pipelines import output, pipeline, run, step

pytestmark = pytest.mark.ray
P = "loopml.testing._pipelines"


@step(gpus=1)
def wants_a_gpu() -> int:
    return 1


@step(memory="500GiB")
def wants_memory() -> int:
    return 1


@step(resources={"ssd": 1})
def wants_ssd() -> int:
    return 1


@pipeline
def needs_a_gpu():
    wants_a_gpu()


@pipeline
def needs_memory():
    wants_memory()


@pipeline
def needs_ssd():
    wants_ssd()


@pytest.mark.parametrize(("target", "named"), [("needs_a_gpu", "GPU 1"), ("needs_memory", "memory 500.0 GiB"),
                                               ("needs_ssd", "ssd 1")])
def test_a_step_asking_for_what_no_node_has_fails_at_once_naming_it(
        home: Path, ray_cluster_env: object, target: str, named: str) -> None:
    started = time.monotonic()
    info = run(f"{__name__}:{target}", executor="ray")
    assert time.monotonic() - started < 30  # not a hang in Ray's queue
    assert info.status == "FAILED"
    error = info.step(info.steps[0].step).error
    assert f"asks for {named}, which no node of the cluster has" in error
    assert "the cluster offers: 127.0.0.1 (head)" in error and "CPU 1" in error


def test_every_step_is_recorded_with_the_node_that_ran_it(home: Path, ray_cluster_env: object) -> None:
    info = run(f"{P}:diamond", executor="ray")
    assert info.status == "SUCCEEDED"
    done = list_work(prefix=f"{info.id}/")
    assert sorted(w.ref.split("/")[1] for w in done) == sorted(s.step for s in info.steps)
    assert all(w.status == "DONE" and w.kind == "step" and w.node_id for w in done)
    head = [n for n in _nodes() if n["head"]][0]
    assert all(w.node_id != head["id"] for w in done)  # the head offers no CPU: work lands on workers


def _nodes() -> list[dict]:
    from loopml.core.work import cluster_status

    return cluster_status()["nodes"]


def test_the_default_executor_is_ray_when_a_cluster_is_set(home: Path, ray_cluster_env: object) -> None:
    from loopml.pipelines import default_executor

    assert default_executor() == "ray"
    info = run(f"{P}:diamond", params={"n_rows": 11})
    assert info.status == "SUCCEEDED" and list_work(prefix=f"{info.id}/")


def test_sigkill_of_a_worker_nodes_raylet_during_a_step(
        home: Path, ray_cluster_env, tmp_path: Path) -> None:
    """Case 49: the step is re-run by Ray on the other node; each step is committed once; nothing is lost."""
    cluster = ray_cluster_env
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    code = ("import sys; from loopml.pipelines import run; "
            f"info = run('{P}:chain', executor='ray', params={{'scratch': {str(scratch)!r}, 'hold': 120}}); "
            "print('EXECUTION=' + info.id); sys.exit(0 if info.status == 'SUCCEEDED' else 1)")
    proc = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        worker_pid = _wait_ready(scratch / "c.ready", proc)
        raylet = psutil.Process(worker_pid).parent()
        assert raylet is not None and raylet.name() == "raylet"
        lost = next(n for n in cluster.nodes if n.raylet_pid() == raylet.pid)
        cluster.kill_raylet(lost)
        (scratch / "c.ready").unlink()
        second = _wait_ready(scratch / "c.ready", proc)  # Ray placed the step again, on the other node
        assert psutil.Process(second).parent().pid != raylet.pid
        (scratch / "release").write_text("go")
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
        cluster.replace_lost_nodes()
    eid = next(line.split("=", 1)[1] for line in out.splitlines() if line.startswith("EXECUTION="))
    assert output(eid, "e") == {"total": sum(v * 2 + 1 for v in range(50))}
    counts = {p.name: len(p.read_text().splitlines()) for p in (scratch / "exec_log").iterdir()}
    assert counts["a"] == counts["b"] == counts["d"] == counts["e"] == 1 and counts["c"] == 2
    with context.get_db().read() as conn:
        rows = conn.execute(sa.text("SELECT step, count(*) FROM step_executions WHERE execution_id = :e "
                                    "GROUP BY step"), {"e": eid}).all()
    assert sorted(rows) == [(s, 1) for s in "abcde"]
    assert fsck(context.get_db(), context.get_artifacts()).ok


def _wait_ready(path: Path, proc: subprocess.Popen, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text().strip():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended early: {proc.communicate()[1][-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.05)
    return int(path.read_text())


def _is_loopback(text: str) -> bool:
    import ipaddress

    address = ipaddress.ip_address(text)
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def test_every_port_of_the_cluster_is_on_loopback(ray_cluster) -> None:
    listening = ray_cluster.listening()
    assert listening, "found no listening sockets of the cluster"
    exposed = [(ip, port) for ip, port in listening if not _is_loopback(ip)]
    assert exposed == [], f"Ray listens beyond loopback: {exposed}"


def test_cluster_status_over_ray_client_lists_nodes_and_resources(
        home: Path, ray_cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOPML_CLUSTER", ray_cluster.client_address)
    out = subprocess.run([sys.executable, "-m", "loopml.cli.main", "cluster", "status"], capture_output=True,
                         text=True, timeout=600, env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    assert f"cluster {ray_cluster.client_address}" in out.stdout
    assert "3 node(s)" in out.stdout and "(head)" in out.stdout
    assert out.stdout.count("CPU 1") == 2


def test_an_unreachable_cluster_is_one_line_and_exit_2(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import free_port

    monkeypatch.setenv("LOOPML_CLUSTER", f"ray://127.0.0.1:{free_port()}")
    out = subprocess.run([sys.executable, "-m", "loopml.cli.main", "cluster", "status"], capture_output=True,
                         text=True, timeout=600, env=dict(os.environ))
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "cannot reach the Ray cluster at ray://127.0.0.1:" in out.stderr


def test_a_failed_client_session_names_the_server_side_cause() -> None:
    """Ray Client sends the head's traceback after its first line; the error keeps the cause, in one line."""
    from loopml.core.cluster import _translate

    exc = ConnectionAbortedError("Initialization failure from server:\nTraceback (most recent call last):\n"
                                 "  File \"proxier.py\", line 771, in Datapath\n"
                                 "RuntimeError: Starting Ray client server failed. See ray_client_server_23000.err")
    message = str(_translate("ray://10.0.0.5:10001", exc))
    assert "\n" not in message
    assert message == ("cannot connect to the Ray cluster at ray://10.0.0.5:10001: Initialization failure from "
                       "server: (RuntimeError: Starting Ray client server failed. See ray_client_server_23000.err)")


def test_a_bad_cluster_setting_and_a_bad_executor_name_are_clear(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOPML_CLUSTER", "http://somewhere:8265")
    reset_settings()
    with pytest.raises(ValidationError, match=r"LOOPML_CLUSTER 'http://somewhere:8265' is not 'auto' or a Ray Client"):
        context.get_settings()
    monkeypatch.delenv("LOOPML_CLUSTER")
    reset_settings()
    with pytest.raises(ValidationError, match=r"executor 'spark' is not one of inline, local, ray"):
        run(f"{P}:diamond", executor="spark")
    with pytest.raises(ClusterError, match="no cluster is configured; set LOOPML_CLUSTER"):
        run(f"{P}:diamond", executor="ray")


def test_without_ray_installed_the_error_says_how_to_install_it(home: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "noray"
    blocker.mkdir()
    (blocker / "ray.py").write_text("raise ImportError('No module named ray')\n")
    env = {**os.environ, "LOOPML_CLUSTER": "auto", "PYTHONPATH": str(blocker)}
    out = subprocess.run([sys.executable, "-m", "loopml.cli.main", "cluster", "status"], capture_output=True,
                         text=True, timeout=600, env=env)
    assert out.returncode == 2
    assert "Ray is not installed; install it with: pip install 'loopml[ray]'" in out.stderr


def test_a_ray_version_mismatch_is_one_clear_line(home: Path, ray_cluster, tmp_path: Path) -> None:
    """A client whose Ray reports another version than the cluster's gets one line naming both."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text("import ray\nray.__version__ = '2.0.0'\nimport ray._version\n"
                                           "ray._version.version = '2.0.0'\n")
    env = {**os.environ, "LOOPML_CLUSTER": "auto", "RAY_ADDRESS": ray_cluster.gcs_address, "PYTHONPATH": str(shim)}
    out = subprocess.run([sys.executable, "-m", "loopml.cli.main", "cluster", "status"], capture_output=True,
                         text=True, timeout=600, env=env)
    assert out.returncode == 2, out.stdout
    assert "the Ray versions of this client (2.0.0" in out.stderr and "differ" in out.stderr


def test_a_cluster_pipeline_run_from_the_cli(home: Path, ray_cluster_env: object) -> None:
    out = subprocess.run([sys.executable, "-m", "loopml.cli.main", "pipeline", "run", f"{P}:diamond",
                          "--executor", "ray", "--json"], capture_output=True, text=True, timeout=180,
                         env=dict(os.environ))
    assert out.returncode == 0, out.stderr[-2000:]
    assert '"status": "SUCCEEDED"' in out.stdout


def test_schedules_and_rule_actions_accept_the_ray_executor(home: Path) -> None:
    from loopml.events.actions import check_action
    from loopml.monitor.schedules import create_pipeline_schedule

    sched = create_pipeline_schedule("nightly", f"{P}:diamond", interval_seconds=3600, executor="ray")
    assert sched.config["executor"] == "ray"
    assert check_action({"type": "pipeline", "pipeline": f"{P}:diamond", "executor": "ray"})
    with pytest.raises(ValidationError, match="executor 'dask' is not one of inline, local, ray"):
        create_pipeline_schedule("bad", f"{P}:diamond", interval_seconds=3600, executor="dask")
    with pytest.raises(ValidationError, match="executor 'dask' is not one of"):
        check_action({"type": "pipeline", "pipeline": f"{P}:diamond", "executor": "dask"})
