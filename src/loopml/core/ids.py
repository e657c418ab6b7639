"""Sortable, unique identifiers: ``<prefix>_<time><random>`` (ULID-like, Crockford base32)."""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def _b32(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def new_id(prefix: str) -> str:
    """A new id such as ``pe_01jd3k...``; ids made later sort after ids made earlier (to the ms).

    Args:
        prefix: a short lowercase tag naming the kind of object (``ds``, ``run``, ``pe``).
    """
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    return f"{prefix}_{_b32(millis, 10)}{_b32(rand, 16)}"
