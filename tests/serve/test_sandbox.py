"""A replica bounds itself before loading any model: address space, file size, no core dumps (§2.4)."""

from __future__ import annotations

import os
import subprocess
import sys

_BOMB = """
from loopml.models import limit_resources
import resource
limit_resources()
print(resource.getrlimit(resource.RLIMIT_AS)[0] // 2**20, resource.getrlimit(resource.RLIMIT_CORE)[0])
try:
    blob = bytearray(1024 * 2**20)  # what a hostile model's loader might try
    print("allocated")
except MemoryError:
    print("refused")
"""


def test_a_replica_cannot_grow_past_its_memory_limit() -> None:
    env = {**os.environ, "LOOPML_REPLICA_MEMORY_MB": "768"}
    out = subprocess.run([sys.executable, "-c", _BOMB], capture_output=True, text=True, env=env, timeout=60)
    assert out.stdout.split() == ["768", "0", "refused"], out.stderr[-2000:]
