"""Artifact store faults: disk full, corruption, digest mismatch, concurrent uploads, S3 retry (cases 21-24)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loopml.core import faults
from loopml.core.artifacts import ArtifactStore
from loopml.errors import ArtifactCorrupted, StorageFull

_LIMITED_PUT = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
from loopml.core.artifacts import ArtifactStore
from loopml.errors import StorageFull
try:
    ArtifactStore(sys.argv[1]).put_bytes(b"x" * 1_000_000)
except StorageFull as exc:
    print("storage-full", exc.http_status)
"""


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_disk_full_under_rlimit_writes_nothing_and_recovers(tmp_path: Path) -> None:
    """Case 21a: EFBIG from RLIMIT_FSIZE -> StorageFull (507); no final blob, no temp file; retry works."""
    root = tmp_path / "cas"
    out = subprocess.run([sys.executable, "-c", _LIMITED_PUT, str(root)], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["storage-full", "507"], out.stderr
    assert _files(root) == []
    ref = ArtifactStore(str(root)).put_bytes(b"x" * 1_000_000)  # "space freed"
    assert _files(root) == [f"sha256/{ref.sha256[7:9]}/{ref.sha256[7:]}"]


def test_enospc_mid_write_leaves_no_partial_blob(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Case 21b: ENOSPC after half the bytes -> StorageFull; nothing under the final name."""
    monkeypatch.setenv("LOOPML_FAULTS", "blob_half_written:raise")
    faults.reset()
    store = ArtifactStore(str(tmp_path / "cas"))
    with pytest.raises(StorageFull, match="out of space"):
        store.put_bytes(b"y" * 10_000)
    assert _files(tmp_path / "cas") == []
    faults.reset()
    monkeypatch.delenv("LOOPML_FAULTS")
    faults.reset()
    assert store.get_bytes(store.put_bytes(b"y" * 10_000)) == b"y" * 10_000


@pytest.mark.parametrize("damage", ["flip", "truncate", "swap"])
def test_corruption_is_caught_before_use(tmp_path: Path, damage: str) -> None:
    """Case 22: a flipped byte, a truncation, or another blob's bytes all raise ArtifactCorrupted."""
    store = ArtifactStore(str(tmp_path / "cas"))
    ref = store.put_bytes(b"model weights " * 100)
    other = store.put_bytes(b"another valid blob")
    blob = tmp_path / "cas" / "sha256" / ref.sha256[7:9] / ref.sha256[7:]
    data = blob.read_bytes()
    blob.chmod(0o644)
    if damage == "flip":
        blob.write_bytes(bytes([data[0] ^ 1]) + data[1:])
    elif damage == "truncate":
        blob.write_bytes(data[:10])
    else:
        blob.write_bytes(store.get_bytes(other))
    with pytest.raises(ArtifactCorrupted, match=ref.sha256):
        store.get_bytes(ref)
    with pytest.raises(ArtifactCorrupted):
        store.get_file(ref, tmp_path / "out")
    assert not (tmp_path / "out").exists()


_UPLOAD = """
import sys, time
from loopml.core.artifacts import ArtifactStore
t = float(sys.argv[2])
while time.time() < t: pass
print(ArtifactStore(sys.argv[1]).put_bytes(b"z" * 3_000_000).sha256)
"""


@pytest.mark.slow
def test_concurrent_identical_uploads_store_one_blob(tmp_path: Path) -> None:
    """Case 23: four processes upload the same bytes at once: one blob, four equal references."""
    root = tmp_path / "cas"
    start = str(time.time() + 1.5)
    procs = [subprocess.Popen([sys.executable, "-c", _UPLOAD, str(root), start], stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    digests = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert digests == {"sha256:" + hashlib.sha256(b"z" * 3_000_000).hexdigest()}
    assert len(_files(root / "sha256")) == 1
    assert _files(root / "tmp") == []


def test_s3_put_retried_after_timeout_is_idempotent(s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Case 24: the PUT landed but the client saw a timeout; the retry finds the same key, no duplicate."""
    store = ArtifactStore(s3_bucket)
    monkeypatch.setenv("LOOPML_FAULTS", "after_blob_write:timeout")
    faults.reset()
    with pytest.raises(TimeoutError):
        store.put_bytes(b"remote payload")
    ref = store.put_bytes(b"remote payload")
    assert store.digests() == [(ref.sha256, ref.size)]
    assert store.get_bytes(ref) == b"remote payload"
