"""Deequ's KLL sketch (``QuantileNonSample`` with ``NonSampleCompactor``), as Model Monitor runs it.

Test-only: it builds ``kll.sketch`` blocks the way a real Model Monitor baseline job writes them, so the
tests can read SageMaker-written baselines without an AWS account. The algorithm follows Deequ's own
description: level ``h`` has capacity ``2 * (ceil(k * c**h / 2) + 1)``; when the sketch holds more items
than all levels' capacities, the lowest full level is sorted and every other item (alternating offset) is
promoted to the next level; an odd last item stays.
"""

from __future__ import annotations

import math
from typing import Any


class DeequKLL:
    def __init__(self, k: int = 2048, c: float = 0.64) -> None:
        self.k, self.c = k, c
        self.levels: list[list[float]] = [[]]
        self.offsets = [0]
        self.compactions = [0]

    def capacity(self, height: int) -> int:
        return 2 * (math.ceil(self.k * self.c**height / 2) + 1)

    def update(self, item: float) -> None:
        self.levels[0].append(float(item))
        if sum(map(len, self.levels)) > sum(self.capacity(h) for h in range(len(self.levels))):
            self._condense()

    def sketch(self) -> dict[str, Any]:
        return {"parameters": {"c": self.c, "k": float(self.k)}, "data": [list(level) for level in self.levels]}

    def _condense(self) -> None:
        for height, level in enumerate(self.levels):
            if len(level) >= self.capacity(height):
                if height + 1 >= len(self.levels):
                    self.levels.append([])
                    self.offsets.append(0)
                    self.compactions.append(0)
                self.levels[height + 1].extend(self._compact(height))
                return

    def _compact(self, height: int) -> list[float]:
        buffer = self.levels[height]
        even = len(buffer) - len(buffer) % 2
        if self.compactions[height] % 2 == 1:
            self.offsets[height] = 1 - self.offsets[height]
        ordered = sorted(buffer[:even])
        out = ordered[self.offsets[height] : even : 2]
        self.levels[height] = [buffer[-1]] if len(buffer) % 2 else []
        self.compactions[height] += 1
        return out


def deequ_sketch(values: Any, *, k: int = 2048, c: float = 0.64) -> dict[str, Any]:
    sketch = DeequKLL(k, c)
    for value in values:
        sketch.update(value)
    return sketch.sketch()
