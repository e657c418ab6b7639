"""A transform's input digest is reused while the file is unchanged, and never for a file that may have
changed: a new modification time, a modification time set back (the change time tells), or a rewrite
within the racy window (a digest recorded then is not trusted later)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loopml.serve import _digests
from loopml.serve._digests import RACY_SECONDS, file_digest
from loopml.serve.transform import transform


@pytest.fixture
def hashes(home: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files actually read by the hasher (the real one, called through), in call order."""
    calls: list[Path] = []
    real = _digests.hash_file

    def counted(path: Path) -> str:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(_digests, "hash_file", counted)
    return calls


def _sha(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _settled(path: Path) -> Path:
    """Wait until the file's last change is older than the racy window (a digest taken then is trusted)."""
    deadline = time.monotonic() + 60
    while True:
        st = path.stat()
        if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > (RACY_SECONDS + 0.1) * 1e9:
            return path
        assert time.monotonic() < deadline, "the clock did not move past the racy window"
        time.sleep(0.05)


def _rewrite_same_size(path: Path, *, keep_mtime: bool) -> None:
    before = path.stat()
    data = path.read_bytes()
    path.write_bytes(bytes(b ^ 0xFF for b in data[:8]) + data[8:])
    assert path.stat().st_size == before.st_size and path.stat().st_ino == before.st_ino
    if keep_mtime:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert path.stat().st_mtime_ns == before.st_mtime_ns


def test_an_unchanged_file_is_hashed_once(hashes: list[Path], tmp_path: Path) -> None:
    path = _settled(_write(tmp_path / "in.bin"))
    assert file_digest(path) == file_digest(path) == file_digest(path) == _sha(path)
    assert len(hashes) == 1


@pytest.mark.parametrize(("settled", "keep_mtime"), [
    (True, False),  # the same size, a new mtime
    (True, True),  # the same inode, size and mtime as recorded (a trusted record): the change time tells
    (False, True),  # the same size and mtime, within the racy window of the recorded digest
], ids=["new-mtime", "mtime-set-back", "racy-window-mtime-set-back"])
def test_a_rewrite_of_the_same_size_is_hashed_again(hashes: list[Path], tmp_path: Path, settled: bool,
                                                    keep_mtime: bool) -> None:
    path = _write(tmp_path / "in.bin")
    if settled:
        _settled(path)
    first = file_digest(path)
    _rewrite_same_size(path, keep_mtime=keep_mtime)
    assert file_digest(path) == _sha(path) != first
    assert len(hashes) == 2


def test_a_digest_recorded_within_the_racy_window_is_not_trusted_even_for_an_unchanged_file(
        hashes: list[Path], tmp_path: Path) -> None:
    """The racy rule on its own: the stat is exactly the recorded one, yet the file is hashed again."""
    path = _write(tmp_path / "in.bin")
    stat = path.stat()
    assert file_digest(path) == file_digest(path) == _sha(path)
    assert (path.stat().st_mtime_ns, path.stat().st_ctime_ns) == (stat.st_mtime_ns, stat.st_ctime_ns)
    assert len(hashes) == 2


def test_a_transform_run_again_on_the_same_input_does_not_hash_it_again(
        served, hashes: list[Path], tmp_path: Path) -> None:  # noqa: ANN001
    served()
    source = tmp_path / "in.parquet"
    frame = pd.DataFrame(np.random.default_rng(2).normal(size=(40, 3)), columns=["a", "b", "c"])
    frame.to_parquet(source, row_group_size=20)
    _settled(source)
    first = transform("churn@approved", source, tmp_path / "out1", shard_rows=20)
    again = transform("churn@approved", source, tmp_path / "out2", shard_rows=20)
    resumed = transform("churn@approved", source, tmp_path / "out1", shard_rows=20)
    assert hashes == [source.resolve()]
    assert (first.rows, again.rows) == (40, 40)
    assert resumed.job_id == first.job_id and resumed.resumed_shards == 2


def _write(path: Path) -> Path:
    path.write_bytes(os.urandom(64 * 1024))
    return path


def test_gc_forgets_the_digests_of_deleted_and_changed_files_and_keeps_the_rest(home: Path, tmp_path: Path) -> None:
    import sqlalchemy as sa

    from loopml.core import context, integrity
    from loopml.serve._tables import file_digests

    kept, deleted, changed = (_write(tmp_path / f"{name}.bin") for name in ("kept", "deleted", "changed"))
    for path in (kept, deleted, changed):
        file_digest(path)
    deleted.unlink()
    changed.write_bytes(b"other bytes")
    integrity.gc(context.get_db(), context.get_artifacts(), grace_seconds=0)
    with context.get_db().read() as conn:
        left = conn.execute(sa.select(file_digests.c.path)).scalars().all()
    assert left == [str(kept.resolve())]
