"""Choosing the online store by URL and encoding entity keys; the store contract itself (every back end)
is loopml.testing.online_store_contract, run by tests/contract/test_online_store.py."""

from __future__ import annotations

import pytest

from loopml.errors import ValidationError
from loopml.features import close_online_stores, open_online_store
from loopml.features.online import encode_key
from tests.features.conftest import customer_group


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
