"""Run the online-store contract over every back end: SQLite, a real Redis server and the in-memory store.

Each back end is opened from its URL through the table (``open_online_store``), as loopml opens it.
Redis being down skips its cases on a laptop and fails them in CI (``CI`` set or ``--require-servers``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loopml.features.online import ONLINE_STORES, OnlineStore, close_online_stores, open_online_store
from loopml.testing.online_store_contract import CONTRACT

BACKENDS = ["sqlite", "redis", "memory"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, home: Path) -> Iterator[OnlineStore]:
    urls = {"sqlite": lambda: f"sqlite:///{home / 'online-test.db'}",
            "redis": lambda: request.getfixturevalue("redis_url"),
            "memory": lambda: f"memory://{request.node.name}"}
    yield open_online_store(urls[request.param]())
    close_online_stores()


@pytest.mark.parametrize("check", CONTRACT, ids=lambda c: c.__name__)
def test_online_store_contract(store: OnlineStore, check) -> None:  # noqa: ANN001
    check(store)


def test_every_store_in_the_table_is_covered() -> None:
    classes = {path.rsplit(":", 1)[1] for path in ONLINE_STORES.values()}
    assert classes == {"SQLiteOnlineStore", "RedisOnlineStore", "InMemoryOnlineStore"}, "add it to BACKENDS"
