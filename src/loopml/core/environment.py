"""What a job's result depends on besides its code and data: the interpreter, every installed package's
version (the lock), the thread counts numerical libraries read, and the seed settings.

Recorded with every training run and pipeline execution, so ``loopml reproduce`` can tell a package that
differs now from a step that is not deterministic.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import sys
from typing import Any

#: Variables numerical libraries read for their thread count (a different count can change float sums).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "LOOPML_TRAIN_SLOTS")
#: Variables that seed randomness outside a job's own ``seed``.
SEED_VARIABLES = ("PYTHONHASHSEED", "LOOPML_SEED")


@functools.lru_cache(maxsize=1)
def installed_packages() -> dict[str, str]:
    """Every installed distribution's version, by lowercase name (read once per process)."""
    from importlib import metadata

    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(name.lower(), dist.version)
    return dict(sorted(found.items()))


def lock_digest(packages: dict[str, str]) -> str:
    """One sha256 over the ``name==version`` lines of ``packages``."""
    text = "\n".join(f"{name}=={version}" for name, version in sorted(packages.items()))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def environment_info() -> dict[str, Any]:
    """Python, platform, the package lock, thread settings and seed settings of this process."""
    packages = installed_packages()
    return {"python": sys.version.split()[0], "implementation": platform.python_implementation(),
            "platform": platform.platform(), "packages": packages, "lock_sha256": lock_digest(packages),
            "threads": {"cpu_count": os.cpu_count(), **{v: os.environ.get(v) for v in THREAD_VARIABLES}},
            "seeds": {v: os.environ.get(v) for v in SEED_VARIABLES}}


def differences(recorded: dict[str, Any], now: dict[str, Any]) -> list[dict[str, Any]]:
    """What differs between a recorded environment and ``now``: one ``{kind, name, recorded, now}`` each.

    ``kind`` is ``python``, ``package`` (changed, added or removed: ``None`` on the side that lacks it),
    ``threads`` or ``seeds``. An environment recorded before locks were kept has no packages to compare.
    """
    found: list[dict[str, Any]] = []
    if recorded.get("python") and recorded.get("python") != now.get("python"):
        found.append({"kind": "python", "name": "python", "recorded": recorded["python"], "now": now.get("python")})
    old, new = recorded.get("packages") or {}, now.get("packages") or {}
    if old:
        for name in sorted(set(old) | set(new)):
            if old.get(name) != new.get(name):
                found.append({"kind": "package", "name": name, "recorded": old.get(name), "now": new.get(name)})
    for kind in ("threads", "seeds"):
        before, after = recorded.get(kind) or {}, now.get(kind) or {}
        for name in sorted(before):
            if json.dumps(before.get(name)) != json.dumps(after.get(name)):
                found.append({"kind": kind, "name": name, "recorded": before.get(name), "now": after.get(name)})
    return found
