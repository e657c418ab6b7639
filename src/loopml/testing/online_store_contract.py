"""The contract every :class:`~loopml.features.online.OnlineStore` back end must honour.

Each check takes a fresh, empty store and raises AssertionError on a violation.
``tests/contract/test_online_store.py`` runs them over every row of
:data:`~loopml.features.online.ONLINE_STORES`: SQLite, a real Redis server and the in-memory store.

Usage: ``from loopml.testing.online_store_contract import CONTRACT`` then parametrize a test over it.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable

from loopml.features.online import OnlineRecord, OnlineRow, OnlineStore

Check = Callable[[OnlineStore], None]


def is_an_online_store(store: OnlineStore) -> None:
    assert isinstance(store, OnlineStore) and store.url


def missing_keys_read_as_none(store: OnlineStore) -> None:
    assert store.read("g", "[1]") is None
    assert store.read_batch("g", ["[1]", "[2]"]) == [None, None]
    assert store.read_batch("g", []) == []
    assert list(store.scan("g")) == []


def newer_rows_win_and_older_never_overwrite(store: OnlineStore) -> None:
    assert store.write_batch("g", [OnlineRow("[1]", 100, 5, '{"x":1}')]) == 1
    assert store.write_batch("g", [OnlineRow("[1]", 99, 9, '{"x":0}')]) == 0  # older event
    assert store.write_batch("g", [OnlineRow("[1]", 100, 4, '{"x":0}')]) == 0  # same event, older write
    assert store.read("g", "[1]").values == '{"x":1}'  # type: ignore[union-attr]
    assert store.write_batch("g", [OnlineRow("[1]", 100, 6, '{"x":2}')]) == 1  # a correction
    assert store.write_batch("g", [OnlineRow("[1]", 101, 1, '{"x":3}')]) == 1
    assert tuple(store.read("g", "[1]")) == (101, 1, '{"x":3}')  # type: ignore[arg-type]


def rewriting_the_same_row_is_idempotent(store: OnlineStore) -> None:
    row = OnlineRow("[1]", 100, 5, '{"x":1}')
    store.write_batch("g", [row])
    store.write_batch("g", [row])
    assert store.read("g", "[1]") == OnlineRecord(100, 5, '{"x":1}')
    assert len(list(store.scan("g"))) == 1


def batch_reads_keep_order_and_groups_are_separate(store: OnlineStore) -> None:
    rows = [OnlineRow(f"[{i}]", i, 1, f'{{"x":{i}}}') for i in range(1200)]
    assert store.write_batch("g", rows) == 1200
    store.write_batch("h", [OnlineRow("[5]", 1, 1, '{"y":1}')])
    keys = ["[7]", "[nope]", "[1100]", "[3]", "[7]"]
    got = store.read_batch("g", keys)
    assert [r.values if r else None for r in got] == ['{"x":7}', None, '{"x":1100}', '{"x":3}', '{"x":7}']
    assert len(dict(store.scan("g"))) == 1200 and dict(store.scan("h"))["[5]"].values == '{"y":1}'


def values_with_colons_and_unicode_survive(store: OnlineStore) -> None:
    value = '{"s":"a:b:ü \\"q\\""}'
    store.write_batch("g", [OnlineRow('["k:1"]', -5, 0, value)])
    assert store.read("g", '["k:1"]') == (-5, 0, value)


def racing_writers_leave_the_newest_row(store: OnlineStore) -> None:
    rows = [OnlineRow("[1]", event, 1, f'{{"x":{event}}}') for event in range(200)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda row: store.write_batch("g", [row]), reversed(rows)))
    assert store.read("g", "[1]") == OnlineRecord(199, 1, '{"x":199}')


CONTRACT: list[Check] = [
    is_an_online_store,
    missing_keys_read_as_none,
    newer_rows_win_and_older_never_overwrite,
    rewriting_the_same_row_is_idempotent,
    batch_reads_keep_order_and_groups_are_separate,
    values_with_colons_and_unicode_survive,
    racing_writers_leave_the_newest_row,
]
"""Every check, in a stable order."""
