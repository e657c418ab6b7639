"""The OnlineStore contract, run over every back end (SQLite and a real Redis server)."""

from __future__ import annotations

import pytest

from loopml.errors import ValidationError
from loopml.features import OnlineRow, OnlineStore, close_online_stores, open_online_store
from loopml.features.online import encode_key
from tests.features.conftest import customer_group


def test_is_an_online_store(online_store: OnlineStore) -> None:
    assert isinstance(online_store, OnlineStore) and online_store.url


def test_missing_keys_read_as_none(online_store: OnlineStore) -> None:
    assert online_store.read("g", "[1]") is None
    assert online_store.read_batch("g", ["[1]", "[2]"]) == [None, None]
    assert online_store.read_batch("g", []) == []


def test_newer_rows_win_and_older_never_overwrite(online_store: OnlineStore) -> None:
    assert online_store.write_batch("g", [OnlineRow("[1]", 100, 5, '{"x":1}')]) == 1
    assert online_store.write_batch("g", [OnlineRow("[1]", 99, 9, '{"x":0}')]) == 0  # older event
    assert online_store.write_batch("g", [OnlineRow("[1]", 100, 4, '{"x":0}')]) == 0  # same event, older write
    assert online_store.read("g", "[1]").values == '{"x":1}'
    assert online_store.write_batch("g", [OnlineRow("[1]", 100, 6, '{"x":2}')]) == 1  # a correction
    assert online_store.write_batch("g", [OnlineRow("[1]", 101, 1, '{"x":3}')]) == 1
    assert tuple(online_store.read("g", "[1]")) == (101, 1, '{"x":3}')


def test_batch_reads_keep_order_and_groups_are_separate(online_store: OnlineStore) -> None:
    rows = [OnlineRow(f"[{i}]", i, 1, f'{{"x":{i}}}') for i in range(1200)]
    assert online_store.write_batch("g", rows) == 1200
    online_store.write_batch("h", [OnlineRow("[5]", 1, 1, '{"y":1}')])
    keys = ["[7]", "[nope]", "[1100]", "[3]", "[7]"]
    got = online_store.read_batch("g", keys)
    assert [r.values if r else None for r in got] == ['{"x":7}', None, '{"x":1100}', '{"x":3}', '{"x":7}']
    assert len(dict(online_store.scan("g"))) == 1200 and dict(online_store.scan("h"))["[5]"].values == '{"y":1}'


def test_values_with_colons_and_unicode_survive(online_store: OnlineStore) -> None:
    value = '{"s":"a:b:ü \\"q\\""}'
    online_store.write_batch("g", [OnlineRow('["k:1"]', -5, 0, value)])
    assert online_store.read("g", '["k:1"]') == (-5, 0, value)


def test_store_is_chosen_by_url(home) -> None:
    assert open_online_store().url.endswith("online.db")
    redis_store = open_online_store("redis://127.0.0.1:6379/0?prefix=t-url:")
    assert redis_store.url == "redis://127.0.0.1:6379/0?prefix=t-url:"
    assert open_online_store("redis://u:secret@127.0.0.1:6379/0").url == "redis://127.0.0.1:6379/0?prefix=loopml:features:"
    close_online_stores()
    with pytest.raises(ValidationError, match="unsupported scheme 'mongodb'"):
        open_online_store("mongodb://x")


def test_entity_keys_encode_canonically() -> None:
    fg = customer_group()
    assert encode_key(fg, 7) == encode_key(fg, (7,)) == encode_key(fg, {"customer_id": 7}) == "[7]"
    with pytest.raises(ValidationError, match="entity key 'customer_id' of group 'customer' is int64, got '7'"):
        encode_key(fg, "7")
    with pytest.raises(ValidationError, match="has 2 key values"):
        encode_key(fg, (1, 2))
