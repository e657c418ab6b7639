"""Run the async-queue contract over every back end: the metadata DB on SQLite and PostgreSQL, and Redis.

Redis being down skips its cases on a laptop and fails them in CI (``CI`` set or ``--require-servers``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loopml.serve.async_queue import QUEUES, AsyncQueue, open_queue
from loopml.testing.async_queue_contract import CONTRACT

BACKENDS = ["sqlite", "postgresql", "redis"]


@pytest.fixture(params=BACKENDS)
def queue(request: pytest.FixtureRequest, home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AsyncQueue]:
    from loopml.config import reset_settings

    if request.param == "redis":
        yield open_queue(request.getfixturevalue("redis_url"))
        return
    if request.param == "postgresql":
        monkeypatch.setenv("LOOPML_DB", request.getfixturevalue("pg_url"))
        reset_settings()
    yield open_queue("")
    reset_settings()


@pytest.mark.parametrize("check", CONTRACT, ids=lambda c: c.__name__)
def test_async_queue_contract(queue: AsyncQueue, check) -> None:  # noqa: ANN001
    check(queue)


def test_every_queue_in_the_table_is_covered() -> None:
    modules = {path.rsplit(":", 1)[1] for path in QUEUES.values()}
    assert modules == {"DatabaseAsyncQueue", "RedisAsyncQueue"}, "add the new back end to BACKENDS"
