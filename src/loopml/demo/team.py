"""``make demo-team``: the whole ``loopml demo`` loop on a team stack started on this machine.

Starts a real Ray cluster (a head and two worker nodes, each its own ``ray start`` with one CPU, every
port on loopback), a fresh PostgreSQL database on the local server, a moto S3 server and a Redis server
(both on loopback), runs ``loopml demo`` unchanged against them, scores a batch of customers with the
deployed model (shards on the cluster), prints which node ran each piece of work (steps, jobs, endpoint
replicas, shards), and stops everything it started (the database is dropped). Run: ``python -m loopml.demo.team``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from loopml.testing.ray_cluster import LocalRayCluster, free_port

PG_ADMIN = os.environ.get("LOOPML_TEAM_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 60) -> None:
    import socket

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not open port {port} in {timeout:g} s")


@contextlib.contextmanager
def _process(args: list[str], port: int, what: str) -> Iterator[None]:
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port, proc, what)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextlib.contextmanager
def _postgres() -> Iterator[str]:
    import sqlalchemy as sa

    name = f"loopml_team_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextlib.contextmanager
def _s3() -> Iterator[dict[str, str]]:
    port = free_port()
    with _process([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], port, "moto"):
        import boto3

        creds = {"AWS_ACCESS_KEY_ID": "team-demo", "AWS_SECRET_ACCESS_KEY": "team-demo",
                 "AWS_DEFAULT_REGION": "us-east-1"}
        endpoint = f"http://127.0.0.1:{port}"
        boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
                     aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
                     region_name="us-east-1").create_bucket(Bucket="loopml-team")
        yield {**creds, "LOOPML_S3_ENDPOINT": endpoint, "LOOPML_ARTIFACTS": "s3://loopml-team/artifacts"}


@contextlib.contextmanager
def _redis() -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        raise RuntimeError("redis-server is not installed; install it (apt-get install redis-server)")
    port = free_port()
    with _process([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                  port, "redis-server"):
        yield f"redis://127.0.0.1:{port}/0"


@contextlib.contextmanager
def team_stack(*, workers: int = 2, cluster: object | None = None) -> Iterator[tuple[dict[str, str], object]]:
    """Start the stack (or use a running ``cluster``); yields the environment pointing loopml at it, and
    the Ray cluster."""
    home = Path(tempfile.mkdtemp(prefix="loopml-team-"))
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, home, ignore_errors=True)  # also when a service fails to start
        if cluster is None:
            cluster = stack.enter_context(LocalRayCluster(workers=workers, worker_cpus=1))
        db = stack.enter_context(_postgres())
        s3 = stack.enter_context(_s3())
        redis = stack.enter_context(_redis())
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("LOOPML_", "RAY_"))}, **s3,
               "LOOPML_HOME": str(home), "LOOPML_DB": db, "LOOPML_ONLINE": redis, "LOOPML_QUEUE": redis,
               "LOOPML_CLUSTER": "auto", "RAY_ADDRESS": cluster.gcs_address}  # type: ignore[attr-defined]
        yield env, cluster


def placements(env: dict[str, str], names: dict[str, str]) -> list[tuple[str, str, str]]:
    """``(kind, ref, node name)`` of every piece of work the cluster ran, oldest first."""
    code = ("import json; from loopml.core.work import list_work; "
            "print(json.dumps([[w.kind, w.ref, w.node_id] for w in list_work(limit=10000)]))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    import json

    rows = json.loads(out.stdout.strip().splitlines()[-1])
    return [(kind, ref, names.get(node, node[:12])) for kind, ref, node in rows]


def stop_endpoints(env: dict[str, str]) -> None:
    """Stop the endpoint processes the demo left serving (their controllers and replicas run here)."""
    code = ("from loopml import serve; from loopml.serve.endpoints import stop_endpoint\n"
            "for e in serve.list_endpoints():\n    stop_endpoint(e['name'])\n")
    subprocess.run([sys.executable, "-c", code], env={**env, "LOOPML_USER": "ops"}, check=False, timeout=300)


BATCH = ("import sys, pandas as pd; from loopml import registry; from loopml.demo.loop import _feature_rows; "
         "recipe = registry.resolve('churn@approved').lineage['recipe']; "
         "pd.DataFrame(_feature_rows(recipe, seed=21, drift=0.0, n=40_000)).to_parquet(sys.argv[1], "
         "row_group_size=10_000)")


def batch_scoring(env: dict[str, str]) -> int:
    """Score 40,000 customers with the model the loop deployed: a batch transform whose shards run on the
    cluster (input and output in the stack's home, a folder every node of this machine sees)."""
    home = Path(env["LOOPML_HOME"])
    scoring = {**env, "LOOPML_USER": "dana"}
    subprocess.run([sys.executable, "-c", BATCH, str(home / "customers.parquet")], env=scoring, check=True)
    print("\nbatch scoring: 40,000 customers, 4 shards as Ray tasks", flush=True)
    return subprocess.run([sys.executable, "-m", "loopml.cli.main", "transform", "--model", "churn@approved",
                           "--input", str(home / "customers.parquet"), "--output", str(home / "scores"),
                           "--shard-rows", "10000", "--json"], env=scoring).returncode


def main() -> int:
    started = time.monotonic()
    with team_stack() as (env, cluster):
        print(f"team stack up in {time.monotonic() - started:.0f} s: Ray {cluster.gcs_address} "  # type: ignore[attr-defined]
              f"(head + 2 workers), PostgreSQL, S3 {env['LOOPML_S3_ENDPOINT']}, Redis {env['LOOPML_ONLINE']}",
              flush=True)
        try:
            demo = subprocess.run([sys.executable, "-m", "loopml.cli.main", "demo"], env=env)
            scored = batch_scoring(env) if demo.returncode == 0 else 1
        finally:
            stop_endpoints(env)
        names = cluster.node_names()  # type: ignore[attr-defined]
        print("\nwhich node ran what:")
        for kind, ref, node in placements(env, names):
            print(f"  {node:<10} {kind:<6} {ref}")
    print(f"\neverything started for the demo was stopped ({time.monotonic() - started:.0f} s in all)")
    return demo.returncode or scored


if __name__ == "__main__":
    sys.exit(main())
