"""An in-process online store (``memory://``): a dict, for tests and notebooks; nothing is persisted."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from loopml.features.online import OnlineRecord, OnlineRow


class InMemoryOnlineStore:
    """Keeps the :class:`~loopml.features.online.OnlineStore` contract in a dict guarded by a lock."""

    def __init__(self, name: str = "") -> None:
        self.url = f"memory://{name}"
        self._rows: dict[tuple[str, str], OnlineRecord] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str) -> InMemoryOnlineStore:
        """Open ``memory://NAME`` (a new, empty store)."""
        return cls(url.split("://", 1)[-1])

    def write_batch(self, group: str, rows: Sequence[OnlineRow]) -> int:
        """Upsert ``rows`` where newer; return how many changed."""
        changed = 0
        with self._lock:
            for row in rows:
                old = self._rows.get((group, row.key))
                if old is None or (row.event_us, row.write_us) >= (old.event_us, old.write_us):
                    self._rows[(group, row.key)] = OnlineRecord(row.event_us, row.write_us, row.values)
                    changed += 1
        return changed

    def read(self, group: str, key: str) -> OnlineRecord | None:
        """The stored row for one encoded key, or ``None``."""
        return self._rows.get((group, key))

    def read_batch(self, group: str, keys: Sequence[str]) -> list[OnlineRecord | None]:
        """The stored rows for ``keys``, in order."""
        return [self._rows.get((group, k)) for k in keys]

    def scan(self, group: str) -> Iterator[tuple[str, OnlineRecord]]:
        """Every stored ``(key, record)`` of ``group``."""
        with self._lock:
            items = [(k, r) for (g, k), r in self._rows.items() if g == group]
        yield from items

    def close(self) -> None:
        """Forget everything."""
        self._rows.clear()
