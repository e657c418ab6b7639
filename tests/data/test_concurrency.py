from __future__ import annotations

import multiprocessing
from pathlib import Path

import pandas as pd
import pytest

from loopml.data import dataset_versions


def _register(worker: int) -> list[tuple[int, str]]:
    from loopml.data import register_dataset

    out = []
    for i in range(5):
        info = register_dataset("shared", pd.DataFrame({"w": [worker], "i": [i]}))
        same = register_dataset("same", pd.DataFrame({"x": [1, 2, 3]}))
        out.append((info.version, info.content_hash))
        out.append((same.version, same.content_hash))
    return out


@pytest.mark.slow
def test_concurrent_registration_gives_gapless_unique_versions(home: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = [r for chunk in pool.map(_register, range(4)) for r in chunk]
    versions = dataset_versions("shared")
    assert sorted(v.version for v in versions) == list(range(1, 21))
    assert len({v.content_hash for v in versions}) == 20
    assert [v.version for v in dataset_versions("same")] == [1]
    by_hash = {v.content_hash: v.version for v in versions}
    assert all(by_hash.get(h, 1) == version for version, h in results)


_REGISTER = "import pandas as pd; from loopml.data import register_dataset; " \
            "register_dataset('crashy', pd.DataFrame({'x': [1, 2, 3]}))"


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["after_blob_write:kill", "after_audit_append:kill"])
def test_crash_during_registration_leaves_nothing_half_done(home: Path, fault: str) -> None:
    import os
    import signal
    import subprocess
    import sys

    from loopml.core import audit, context
    from loopml.data import list_datasets, register_dataset

    env = dict(os.environ, LOOPML_FAULTS=fault)
    proc = subprocess.run([sys.executable, "-c", _REGISTER], env=env, capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    context.reset()
    assert list_datasets() == []
    assert register_dataset("crashy", pd.DataFrame({"x": [1, 2, 3]})).version == 1
    with context.get_db().read() as conn:
        assert audit.verify(conn).ok
