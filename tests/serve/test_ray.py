"""Batch-transform shards and endpoint replicas on the session's real Ray cluster, and the loss of a worker
node's raylet under each (case 49): nothing lost, nothing written twice, every request answered."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from loopml import serve
from loopml.core import context
from loopml.core.work import list_work
from loopml.serve._tables import transform_shards
from loopml.serve.transform import _publish_once, transform

pytestmark = pytest.mark.ray
ROW = b'[{"a": 0.1, "b": 0.2, "c": 0.3}]'


def _input(path: Path, rows: int, shard_rows: int) -> None:
    rng = np.random.default_rng(3)
    table = pa.Table.from_pandas(pd.DataFrame(rng.normal(size=(rows, 3)), columns=["a", "b", "c"]),
                                 preserve_index=False)
    pq.write_table(table, path, row_group_size=shard_rows)


def _wait(condition, what: str, deadline: float = 180) -> None:  # noqa: ANN001
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def serve_nodes() -> list[dict]:
    from loopml.core.work import cluster_status

    return cluster_status()["nodes"]


def _raylet_of(pid: int) -> int:
    parent = psutil.Process(pid).parent()
    assert parent is not None and parent.name() == "raylet", f"{pid} is not a Ray worker"
    return parent.pid


def test_a_shard_is_published_once_however_many_attempts_write_it(tmp_path: Path) -> None:
    first, second, final = tmp_path / "a.tmp", tmp_path / "b.tmp", tmp_path / "part-00000.parquet"
    first.write_text("first attempt")
    second.write_text("re-run after a node loss")
    assert _publish_once(first, final) is True
    inode = final.stat().st_ino
    assert _publish_once(second, final) is False
    assert final.read_text() == "first attempt" and final.stat().st_ino == inode
    assert not first.exists() and not second.exists()


def test_sigkill_of_a_raylet_during_a_batch_transform(served, ray_cluster_env, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Case 49: shards run as Ray tasks on both workers; the lost node's shard runs again on the other one;
    every row comes out once, each shard is recorded once, and each shard's node is on record."""
    cluster = ray_cluster_env
    served()
    rows, shard_rows = 12_000, 2_000
    _input(tmp_path / "in.parquet", rows, shard_rows)
    gate = tmp_path / "gate"
    monkeypatch.setenv("LOOPML_FAULTS", "transform_shard_start:pause")  # each worker holds its first shard
    monkeypatch.setenv("LOOPML_FAULT_GATE", str(gate))
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(out=transform(
        "churn@approved", tmp_path / "in.parquet", tmp_path / "out", shard_rows=shard_rows)))
    thread.start()
    try:
        _wait(lambda: len({w.node_id for w in list_work(running_only=True) if w.kind == "shard"}) == 2,
              "a shard running on each worker node")
        running = [w for w in list_work(running_only=True) if w.kind == "shard"]
        raylet = _raylet_of(running[0].pid)
        lost = next(n for n in cluster.nodes if n.raylet_pid() == raylet)
        cluster.kill_raylet(lost)
        gate.write_text("go")
        thread.join(300)
        assert not thread.is_alive()
    finally:
        gate.write_text("go")
        thread.join(300)
        cluster.replace_lost_nodes()
    out = result["out"]
    assert (out.rows, out.failures, out.shards) == (rows, 0, rows // shard_rows)
    parts = pd.concat([pd.read_parquet(p) for p in sorted((tmp_path / "out").glob("part-*.parquet"))])
    assert sorted(parts["_row"]) == list(range(rows))  # nothing lost, nothing twice
    assert not list((tmp_path / "out").glob(".*.tmp"))
    with context.get_db().read() as conn:
        recorded = conn.execute(sa.select(transform_shards.c.shard).where(transform_shards.c.job_id == out.job_id)
                                ).scalars().all()
    assert sorted(recorded) == list(range(out.shards))
    work = [w for w in list_work(prefix=f"{out.job_id}/") if w.kind == "shard"]
    done = {w.ref for w in work if w.status == "DONE"}
    assert done == {f"{out.job_id}/{s}" for s in range(out.shards)}  # which node ran each shard
    assert len({w.node_id for w in work}) >= 2
    assert any(w.ref == running[0].ref and w.status == "DONE" and w.node_id != running[0].node_id for w in work)


def test_endpoint_replicas_on_ray_answer_every_request_through_a_lost_node(served, ray_cluster_env) -> None:
    """Case 49: two replicas as Ray actors on the two workers behind loopml's router; the raylet of one
    replica's node is SIGKILLed under traffic; the router retries on the other replica, the scaler places a
    replacement on a node that is alive, and no request fails."""
    cluster = ray_cluster_env
    served()
    ep = serve.create("ray-ep", "churn@approved", min_replicas=2, max_replicas=2, timeout=300)
    assert ep.config["placement"] == "cluster"
    _wait(lambda: len({w.node_id for w in list_work(running_only=True) if w.kind == "replica"}) == 2,
          "a replica on each worker node")
    replicas = [w for w in list_work(running_only=True) if w.kind == "replica"]
    assert all(w.ref.startswith("ray-ep/") for w in replicas)
    head = next(n for n in serve_nodes() if n["head"])["id"]
    assert head not in {w.node_id for w in replicas}  # spread over the worker nodes
    statuses: list[int] = []
    stop = threading.Event()
    url = ep.runtime["url"] + "/invocations"

    def traffic() -> None:
        with httpx.Client(timeout=60) as client:
            deadline = time.monotonic() + 600  # bounded in time and count
            while not stop.is_set() and time.monotonic() < deadline and len(statuses) < 20_000:
                try:
                    statuses.append(client.post(url, content=ROW,
                                                headers={"content-type": "application/json"}).status_code)
                except httpx.HTTPError:
                    statuses.append(-1)

    sender = threading.Thread(target=traffic)
    sender.start()
    try:
        _wait(lambda: len(statuses) >= 20, "traffic to flow")
        raylet = _raylet_of(replicas[0].pid)
        lost = next(n for n in cluster.nodes if n.raylet_pid() == raylet)
        cluster.kill_raylet(lost)
        before = len(statuses)
        _wait(lambda: any(w.kind == "replica" and w.node_id != replicas[0].node_id and w.pid != replicas[1].pid
                          for w in list_work(running_only=True)), "a replacement replica on a live node", 400)
        _wait(lambda: len(statuses) >= before + 50, "traffic after the replacement")
    finally:
        stop.set()
        sender.join(120)
        serve.stop_endpoint("ray-ep", timeout=120)
        cluster.replace_lost_nodes()
    assert len(statuses) > 70
    assert set(statuses) == {200}, f"{len(statuses)} requests, failed: {[s for s in statuses if s != 200][:10]}"
