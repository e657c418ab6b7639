"""Many model versions behind one endpoint: loaded on first use, evicted least-recently-used.

The memory budget is checked against each model's measured footprint (resident memory before and after
loading, at least its size on disk), so a replica hosting hundreds of targets keeps only the hot ones.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from loopml.serve._model import ServedModel, load_folder
from loopml.serve.errors import UnknownTarget


@dataclass(frozen=True)
class Target:
    """A model a multi-model endpoint may serve: its client-facing name, local folder and digest."""

    name: str
    folder: str
    digest: str
    version: str = "1"
    trust: bool = False


def _disk_size(folder: str) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


class ModelCache:
    """A :class:`~loopml.serve.server.ModelSource` that loads targets lazily under ``budget_bytes``."""

    def __init__(self, targets: list[Target], *, budget_bytes: int,
                 loader: Callable[[Target], ServedModel] | None = None, on_change: Callable[[int], None] | None = None
                 ) -> None:
        self.targets = {t.name: t for t in targets}
        self.budget = budget_bytes
        self._loader = loader or (lambda t: load_folder(t.folder, name=t.name, digest=t.digest, version=t.version,
                                                                  trust=t.trust))
        self._loaded: OrderedDict[str, tuple[ServedModel, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._on_change = on_change or (lambda n: None)
        self.loads = 0
        self.evictions = 0

    def names(self) -> list[str]:
        return sorted(self.targets)

    def loaded(self) -> list[str]:
        """Targets in memory, least recently used first."""
        return list(self._loaded)

    def get(self, name: str | None) -> ServedModel:
        if not name or name not in self.targets:
            raise UnknownTarget(f"target model {name!r} is not hosted by this endpoint; send X-Target-Model with "
                                f"one of {self.names()[:20]}", target=name)
        with self._lock:
            if name in self._loaded:
                self._loaded.move_to_end(name)
                return self._loaded[name][0]
            model, size = self._load(self.targets[name])
            self._loaded[name] = (model, size)
            self._evict(keep=name)
            self._on_change(len(self._loaded))
            return model

    def _load(self, target: Target) -> tuple[ServedModel, int]:
        before = psutil.Process().memory_info().rss
        model = self._loader(target)
        self.loads += 1
        grown = psutil.Process().memory_info().rss - before
        return model, max(grown, _disk_size(target.folder) if Path(target.folder).exists() else 0, 1)

    def _evict(self, *, keep: str) -> None:
        while sum(size for _, size in self._loaded.values()) > self.budget and len(self._loaded) > 1:
            oldest = next(iter(self._loaded))
            if oldest == keep:
                break
            del self._loaded[oldest]
            self.evictions += 1
