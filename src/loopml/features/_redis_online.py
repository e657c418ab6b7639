"""The scale-out online store: Redis, one string per (group, entity key) under a key prefix.

Each value is ``<event_us>:<write_us>:<values JSON>``. Writes go through a Lua script that compares the
stored times first, so an older row never replaces a newer one even when writers race.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any, cast
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import redis

from loopml.errors import BackendError
from loopml.features.online import OnlineRecord, OnlineRow

_CAS = """
local n = 0
for i, key in ipairs(KEYS) do
  local new = ARGV[i]
  local cur = redis.call('GET', key)
  local write = true
  if cur then
    local ce, cw = string.match(cur, '^(%-?%d+):(%-?%d+):')
    local ne, nw = string.match(new, '^(%-?%d+):(%-?%d+):')
    ce, cw, ne, nw = tonumber(ce), tonumber(cw), tonumber(ne), tonumber(nw)
    if ne < ce or (ne == ce and nw < cw) then write = false end
  end
  if write then redis.call('SET', key, new); n = n + 1 end
end
return n
"""
_CHUNK = 1000


def _decode(raw: bytes | None) -> OnlineRecord | None:
    if raw is None:
        return None
    event, write, values = raw.decode().split(":", 2)
    return OnlineRecord(int(event), int(write), values)


class RedisOnlineStore:
    """Online store on a Redis server.

    Args:
        url: ``redis://host:port/db`` (no ``prefix`` query parameter here).
        prefix: prepended to every key, so several installations or tests can share one server.
    """

    def __init__(self, url: str, *, prefix: str = "loopml:features:") -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=10)
        self.prefix = prefix
        self.url = f"{re.sub(r'//[^@/]*@', '//', url)}?prefix={prefix}"  # no credentials
        self._script = self._client.register_script(_CAS)

    @classmethod
    def from_url(cls, url: str) -> RedisOnlineStore:
        """Open ``redis://[user:password@]host:port/db[?prefix=myapp:]`` (prefix default ``loopml:features:``)."""
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        prefix = query.pop("prefix", ["loopml:features:"])[0]
        return cls(urlunsplit(parts._replace(query=urlencode(query, doseq=True))), prefix=prefix)

    def _key(self, group: str, key: str) -> str:
        return f"{self.prefix}{group}:{key}"

    def write_batch(self, group: str, rows: Sequence[OnlineRow]) -> int:
        """Upsert ``rows`` where newer (atomically per chunk of 1,000); return how many changed."""
        changed = 0
        try:
            for start in range(0, len(rows), _CHUNK):
                chunk = rows[start:start + _CHUNK]
                keys = [self._key(group, r.key) for r in chunk]
                args = [f"{r.event_us}:{r.write_us}:{r.values}" for r in chunk]
                changed += int(self._script(keys=keys, args=args))
        except redis.RedisError as exc:
            raise _backend(exc) from exc
        return changed

    def read(self, group: str, key: str) -> OnlineRecord | None:
        """The stored row for one encoded key, or ``None``."""
        try:
            return _decode(_value(self._client.get(self._key(group, key))))
        except redis.RedisError as exc:
            raise _backend(exc) from exc

    def read_batch(self, group: str, keys: Sequence[str]) -> list[OnlineRecord | None]:
        """The stored rows for ``keys``, in the same order (``None`` where missing)."""
        if not keys:
            return []
        try:
            raw = cast(list[bytes | None], self._client.mget([self._key(group, k) for k in keys]))  # sync client
        except redis.RedisError as exc:
            raise _backend(exc) from exc
        return [_decode(v) for v in raw]

    def scan(self, group: str) -> Iterator[tuple[str, OnlineRecord]]:
        """Every stored ``(key, record)`` of ``group`` (order unspecified)."""
        head = self._key(group, "")
        try:
            for name in self._client.scan_iter(match=head + "*", count=1000):
                record = _decode(_value(self._client.get(name)))
                if record is not None:
                    yield name.decode()[len(head):], record
        except redis.RedisError as exc:
            raise _backend(exc) from exc

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


def _backend(exc: Exception) -> BackendError:
    return BackendError(f"the Redis online store failed ({type(exc).__name__}); check that the server is "
                        "running and that LOOPML_ONLINE is right")


def _value(reply: Any) -> bytes | None:
    """A GET reply: redis-py types its commands as ``Awaitable | Any`` for the sync and async clients alike;
    the synchronous client used here returns the stored bytes (or None) by construction."""
    return cast(bytes | None, reply)
