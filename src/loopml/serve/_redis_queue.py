"""Redis back end of the async-endpoint queue (``LOOPML_QUEUE=redis://host:port/db?prefix=...``).

Same contract as the metadata-DB queue (:class:`loopml.serve.async_queue.AsyncQueue`, checked by
:mod:`loopml.testing.async_queue_contract`); every state change is one
Lua script, so there is no read-then-write race between workers. Layout under ``<prefix>``:

* ``req:<id>`` hash with the request fields plus a fencing ``epoch``;
* ``idem:<endpoint>:<key>`` -> id (``SET NX``: concurrent duplicates get one entry, same id back);
* ``q:<endpoint>`` sorted set of non-terminal ids scored by the time (ms) they become claimable; a claim
  re-scores to ``now + lease``, so a request whose worker died is re-delivered when the lease lapses;
* ``all:<endpoint>`` sorted set of every id by creation time (for listing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import redis

from loopml.core import clock, context, ids
from loopml.errors import BackendError, NotFoundError, StaleEpoch
from loopml.serve._async_request import COMPLETED, FAILED, PENDING, AsyncRequest

_SUBMIT = """
local id = redis.call('GET', KEYS[1])
if id then return {id, 0} end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], unpack(cjson.decode(ARGV[3])))
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
return {ARGV[1], 1}
"""

_CLAIM = """
local now = tonumber(ARGV[1])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 50)
for _, id in ipairs(ids) do
  local k = ARGV[3] .. id
  local st = redis.call('HGET', k, 'status')
  local exp = tonumber(redis.call('HGET', k, 'expires_ms'))
  local att = tonumber(redis.call('HGET', k, 'attempts'))
  local mx = tonumber(redis.call('HGET', k, 'max_attempts'))
  if st ~= 'Pending' and st ~= 'InProgress' then
    redis.call('ZREM', KEYS[1], id)
  elseif exp and exp > 0 and exp <= now then
    redis.call('HSET', k, 'status', 'Expired', 'error', 'expired before it ran (TTL passed)')
    redis.call('ZREM', KEYS[1], id)
  elseif att >= mx then
    local err = redis.call('HGET', k, 'error')
    if not err or err == '' then err = 'max attempts reached' end
    redis.call('HSET', k, 'status', 'Failed', 'error', err)
    redis.call('ZREM', KEYS[1], id)
  else
    local ep = redis.call('HINCRBY', k, 'epoch', 1)
    redis.call('HSET', k, 'status', 'InProgress', 'attempts', att + 1)
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id)
    return {id, ep}
  end
end
return false
"""

_FINISH = """
local ep = tonumber(redis.call('HGET', KEYS[1], 'epoch'))
if ep ~= tonumber(ARGV[1]) or redis.call('HGET', KEYS[1], 'status') ~= 'InProgress' then return 0 end
local att = tonumber(redis.call('HGET', KEYS[1], 'attempts'))
local mx = tonumber(redis.call('HGET', KEYS[1], 'max_attempts'))
if ARGV[2] == 'Completed' then
  redis.call('HSET', KEYS[1], 'status', 'Completed', 'output_digest', ARGV[3])
  redis.call('ZREM', KEYS[2], ARGV[5])
elseif att >= mx then
  redis.call('HSET', KEYS[1], 'status', 'Failed', 'error', ARGV[4])
  redis.call('ZREM', KEYS[2], ARGV[5])
else
  redis.call('HSET', KEYS[1], 'status', 'Pending', 'error', ARGV[4])
  redis.call('ZADD', KEYS[2], ARGV[6], ARGV[5])
end
return 1
"""

_RECOVER = """
local n = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if redis.call('HGET', ARGV[1] .. id, 'status') == 'InProgress' then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    n = n + 1
  end
end
return n
"""


@dataclass(frozen=True)
class RedisLease:
    """A claim on one request: its fencing epoch (a later claim makes this one stale)."""

    name: str
    owner: str
    epoch: int


@dataclass(frozen=True)
class RedisQueue:
    """A connection plus the key prefix the queue lives under."""

    client: Any
    prefix: str

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))


@lru_cache(maxsize=8)
def connect(url: str) -> RedisQueue:
    """Open the queue named by a ``redis://...?prefix=`` URL (cached per URL)."""
    parts = urlsplit(url)
    prefix = parse_qs(parts.query).get("prefix", ["loopml:aq"])[0]
    client = redis.Redis.from_url(urlunsplit(parts._replace(query="")), decode_responses=True)
    return RedisQueue(client, prefix)


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _run(q: RedisQueue, script: str, keys: list[str], args: list[Any]) -> Any:
    try:
        return q.client.eval(script, len(keys), *keys, *args)
    except redis.RedisError as exc:
        raise BackendError(f"Redis queue {q.prefix!r} failed: {exc}; check LOOPML_QUEUE and that Redis is up",
                           prefix=q.prefix) from exc


def _request(h: dict[str, str]) -> AsyncRequest:
    exp = int(h.get("expires_ms") or 0)
    return AsyncRequest(h["id"], h["endpoint"], h["idempotency_key"], h["status"], h["input_digest"],
                        h["content_type"], int(h["attempts"]), int(h["max_attempts"]),
                        datetime.fromtimestamp(exp / 1000, UTC) if exp else None, h.get("output_digest") or None,
                        h.get("error") or None, datetime.fromtimestamp(int(h["created_ms"]) / 1000, UTC),
                        accept=h.get("accept") or None, custom_attributes=h.get("custom_attributes") or None)


class RedisAsyncQueue:
    """The :class:`~loopml.serve.async_queue.AsyncQueue` in Redis, one Lua script per state change."""

    in_metadata_db = False

    def __init__(self, url: str) -> None:
        self.url = url
        self.q = connect(url)

    def submit(self, endpoint: str, body: bytes, *, content_type: str, idempotency_key: str | None,
               ttl: float | None, max_attempts: int, accept: str | None = None,
               custom_attributes: str | None = None) -> tuple[AsyncRequest, bool]:
        import json

        q = self.q
        ref = context.get_artifacts().put_bytes(body)
        now, rid = clock.now(), ids.new_id("inf")
        key = idempotency_key or rid
        fields = dict(id=rid, endpoint=endpoint, idempotency_key=key, status=PENDING, input_digest=ref.sha256,
                      content_type=content_type, accept=accept or "", custom_attributes=custom_attributes or "",
                      attempts=0, max_attempts=max_attempts, epoch=0,
                      expires_ms=_ms(now + timedelta(seconds=ttl)) if ttl else 0, created_ms=_ms(now))
        flat = [str(x) for kv in fields.items() for x in kv]
        got, created = _run(q, _SUBMIT, [q.key("idem", endpoint, key), q.key("req", rid), q.key("q", endpoint),
                                         q.key("all", endpoint)], [rid, _ms(now), json.dumps(flat)])
        return self.get(got), bool(created)

    def get(self, request_id: str) -> AsyncRequest:
        h = self.q.client.hgetall(self.q.key("req", request_id))
        if not h:
            raise NotFoundError(f"no async inference {request_id!r}; ids come from the 202 answer",
                                inference_id=request_id)
        return _request(h)

    def list_requests(self, endpoint: str | None, *, status: str | None = None) -> list[AsyncRequest]:
        if endpoint is None:
            found = (self.q.client.hgetall(k) for k in self.q.client.scan_iter(match=self.q.key("req", "*"), count=500))
            out = sorted((_request(h) for h in found if h), key=lambda r: r.created_at)
        else:
            out = [self.get(rid) for rid in self.q.client.zrange(self.q.key("all", endpoint), 0, -1)]
        return [r for r in out if not status or r.status == status]

    def backlog(self, endpoint: str) -> int:
        return int(self.q.client.zcard(self.q.key("q", endpoint)))

    def claim(self, endpoint: str, owner: str, *, lease_ttl: float) -> tuple[AsyncRequest, RedisLease] | None:
        now = clock.now()
        got = _run(self.q, _CLAIM, [self.q.key("q", endpoint)], [_ms(now), int(lease_ttl * 1000), self.q.key("req", "")])
        if not got:
            return None
        return self.get(got[0]), RedisLease(f"async/{got[0]}", owner, int(got[1]))

    def _finish(self, req: AsyncRequest, lease: RedisLease, status: str, *, output: str = "", error: str = "") -> int:
        q = self.q
        return int(_run(q, _FINISH, [q.key("req", req.id), q.key("q", req.endpoint)],
                        [lease.epoch, status, output, error, req.id, _ms(clock.now())]))

    def complete(self, req: AsyncRequest, lease: RedisLease, output: bytes) -> AsyncRequest:
        ref = context.get_artifacts().put_bytes(output)
        if not self._finish(req, lease, COMPLETED, output=ref.sha256):
            current = self.get(req.id)
            if current.status != COMPLETED:
                raise StaleEpoch(f"lease epoch {lease.epoch} on {lease.name} is stale; another worker re-claimed it",
                                 lease=lease.name)
        return self.get(req.id)

    def attempt_failed(self, req: AsyncRequest, lease: RedisLease, error: str) -> AsyncRequest:
        self._finish(req, lease, FAILED, error=error)
        return self.get(req.id)

    def recover(self, endpoint: str) -> int:
        q = self.q
        return int(_run(q, _RECOVER, [q.key("q", endpoint)], [q.key("req", ""), _ms(clock.now())]))
