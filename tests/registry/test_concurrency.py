"""Registry concurrency from real processes (cases 15, 16, 19) on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loopml import registry
from loopml.core import context

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

_REGISTER = """
import json, os, sys, time
from tests.registry.conftest import tiny_model
from loopml import registry
n, start = int(sys.argv[1]), float(sys.argv[2])
models = [tiny_model(os.getpid() + i / 100)[0] for i in range(n)]
while time.time() < start:
    time.sleep(0.005)
for m in models:
    v = registry.register(m, "m")
    print(json.dumps({"pid": os.getpid(), "version": v.version, "digest": v.digest}), flush=True)
"""

_CREATE = """
import sys, time
from loopml import registry
start = float(sys.argv[1])
while time.time() < start:
    pass
print(registry.create_group("m2").created_at.isoformat())
"""


def _spawn(code: str, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_eight_processes_register_200_versions_without_gaps(any_home: Path) -> None:
    """Case 15: versions are exactly 1..200; each version's digest is the one its creator sent."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = str(time.time() + 4)
    procs = [_spawn(_REGISTER, "25", start, env=env) for _ in range(8)]
    log = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-3000:]
        log += [json.loads(line) for line in out.splitlines()]
    assert sorted(entry["version"] for entry in log) == list(range(1, 201))
    stored = {v.version: v.digest for v in registry.list_versions("m", limit=500)}
    assert {e["version"]: e["digest"] for e in log} == stored
    assert len(set(stored.values())) == 200


def test_eight_processes_create_the_same_group(any_home: Path) -> None:
    """Case 16: one row, every caller gets it back (no 409/500)."""
    env = dict(os.environ)
    start = str(time.time() + 2)
    procs = [_spawn(_CREATE, start, env=env) for _ in range(8)]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        outputs.append(out.strip())
    assert len(set(outputs)) == 1
    assert [g.name for g in registry.list_groups()] == ["m2"]


def test_production_alias_race_has_one_winner(roles, model) -> None:
    """Case 19: two approvers promote different versions from the same starting point; one gets 409."""
    from concurrent.futures import ThreadPoolExecutor

    from loopml.errors import ConflictError
    from tests.registry.conftest import tiny_model

    for c in (1.0, 2.0, 3.0):
        registry.register(tiny_model(c)[0], "churn")
        registry.approve("churn", int(c), actor="bob")
    registry.set_alias("churn", "production", 1, actor="bob")

    def promote(version: int) -> str:
        try:
            registry.set_alias("churn", "production", version, expected=1, actor="bob")
            return "won"
        except ConflictError:
            return "409"

    with ThreadPoolExecutor(2) as pool:
        results = sorted(pool.map(promote, [2, 3]))
    assert results == ["409", "won"]
    with context.get_db().read() as conn:
        from sqlalchemy import text

        rows = conn.execute(text("SELECT version FROM model_aliases WHERE alias = 'production'")).all()
    assert len(rows) == 1 and rows[0][0] in (2, 3)
