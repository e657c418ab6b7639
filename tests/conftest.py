"""Fixtures shared by every test: an isolated loopml home, real PostgreSQL databases, a real S3 server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ADMIN_URL = os.environ.get("TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_ENV_KEYS = ("LOOPML_HOME", "LOOPML_DB", "LOOPML_ARTIFACTS", "LOOPML_ONLINE", "LOOPML_FAULTS", "LOOPML_USER")


def _reset() -> None:
    from loopml.config import reset_settings
    from loopml.core import faults

    reset_settings()
    faults.reset()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh LOOPML_HOME (SQLite + local artifacts) acting as user ``alice``."""
    for key in _ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    path = tmp_path / "loopml-home"
    monkeypatch.setenv("LOOPML_HOME", str(path))
    monkeypatch.setenv("LOOPML_USER", "alice")
    monkeypatch.chdir(tmp_path)
    _reset()
    yield path
    _reset()


def _pg_create() -> tuple[str, str]:
    import sqlalchemy as sa

    name = f"loopml_t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return name, PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _pg_drop(name: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A brand-new, empty PostgreSQL database on the real server; dropped afterwards."""
    name, url = _pg_create()
    yield url
    _pg_drop(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The metadata database URL, once for SQLite and once for the real PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'meta.db'}"
        return
    name, url = _pg_create()
    yield url
    _pg_drop(name)


@pytest.fixture
def any_home(home: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Like ``home`` but parametrized over SQLite and PostgreSQL metadata stores."""
    monkeypatch.setenv("LOOPML_DB", db_url)
    _reset()
    return home


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(*, deadline: float = 60.0) -> tuple[subprocess.Popen[bytes], str]:
    """A real ``loopml`` control plane in its own process on a free loopback port, answering ``/healthz``.

    Returns the process (the caller stops it) and its base URL. It serves the store of the current environment.
    """
    import httpx

    port = free_port()
    code = f"from loopml.api import serve; serve('127.0.0.1', {port}, log_level='warning')"
    proc = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ))
    base = f"http://127.0.0.1:{port}"
    until = time.time() + deadline
    while time.time() < until and proc.poll() is None:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    return proc, base


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's standalone S3-compatible server, a real HTTP server on loopback. Yields its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("moto S3 server did not start")
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def s3_bucket(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket on the moto server, with credentials and endpoint set for s3fs. Yields ``s3://…``."""
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("LOOPML_S3_ENDPOINT", s3_server)
    bucket = f"b-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=s3_server).create_bucket(Bucket=bucket)
    import fsspec

    fsspec.config.conf.pop("s3", None)
    return f"s3://{bucket}/artifacts"


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[object]:
    """A real Ray cluster on this machine, shared by the session: a head (no CPUs) and two worker nodes of
    one CPU each, every port on 127.0.0.1. Tests that use it carry ``xdist_group("ray")`` so one pytest
    worker holds the only cluster."""
    from loopml.core import cluster as connection
    from loopml.testing.ray_cluster import LocalRayCluster

    with LocalRayCluster(workers=2, worker_cpus=1) as cluster:
        yield cluster
        connection.disconnect()  # leave the cluster before it stops, so the driver does not wait on it


@pytest.fixture
def ray_cluster_env(ray_cluster: object, monkeypatch: pytest.MonkeyPatch) -> object:
    """Point loopml at the session's cluster as a driver on its head node (``LOOPML_CLUSTER=auto`` with
    ``RAY_ADDRESS``); ``ray_cluster.client_address`` is the Ray Client address for client tests."""
    monkeypatch.setenv("LOOPML_CLUSTER", "auto")
    monkeypatch.setenv("RAY_ADDRESS", ray_cluster.gcs_address)  # type: ignore[attr-defined]
    _reset()
    return ray_cluster


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test on the Ray cluster runs in one xdist worker (one cluster per session), with room for
    starting the cluster (and a replacement node after a node-loss test) on a busy machine."""
    for item in items:
        if item.get_closest_marker("ray") is not None:
            item.add_marker(pytest.mark.xdist_group("ray"))
            item.add_marker(pytest.mark.timeout(600))


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--require-servers", action="store_true", default=False,
                     help="fail (not skip) tests whose server (Redis) is down; on by default when CI is set")


def require_server(config: pytest.Config, what: str, *, up: bool) -> None:
    """Skip a test whose server is down, or fail it in CI (``CI`` set, or ``--require-servers``)."""
    if up:
        return
    message = f"{what} is not answering; start it (the CI script .ci/run does)"
    if os.environ.get("CI") or config.getoption("--require-servers"):
        pytest.fail(f"{message}: CI needs every back end of the contract suites", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def redis_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A Redis database URL with a key prefix unique to this test (``?prefix=…``); its keys are deleted
    afterwards. Redis down skips the test, or fails it in CI."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        up = bool(client.ping())
    except redis.RedisError:
        up = False
    require_server(request.config, f"Redis at {REDIS_URL}", up=up)
    prefix = f"loopml-test-{uuid.uuid4().hex[:12]}"
    yield f"{REDIS_URL}?prefix={prefix}"
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
