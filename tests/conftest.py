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
