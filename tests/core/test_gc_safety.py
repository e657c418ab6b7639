"""Garbage collection is safe beside writers and other collectors (RELIABILITY.md cases 2 and 50): the grace
period holds on S3 too, a writer re-storing existing bytes renews them, one gc runs at a time (and a killed
one does not block the next), and a folder whose manifest is unreadable stops gc from guessing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest
from tests.core.test_gc import ROOT, flip_blob, loopml, make_model

from loopml.core import context

LOOPML = [sys.executable, "-m", "loopml.cli.main"]
# several real CLI runs per test: on a machine shared by many jobs each can take half a minute
pytestmark = pytest.mark.timeout(900)


def _start(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([*LOOPML, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **env}, cwd=ROOT)


def _wait_for(path: Path, proc: subprocess.Popen[str], *, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def _paused(point: str, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    gate = tmp_path / f"gate-{uuid.uuid4().hex[:6]}"
    return gate, {"LOOPML_FAULTS": f"{point}:pause", "LOOPML_FAULT_GATE": str(gate)}


def _on_s3(s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from loopml.config import reset_settings

    monkeypatch.setenv("LOOPML_ARTIFACTS", s3_bucket)
    reset_settings()


@pytest.mark.parametrize("where", ["local", pytest.param("s3", marks=pytest.mark.slow)])
def test_a_writer_that_stored_its_blob_but_has_not_committed_keeps_it(
        home: Path, tmp_path: Path, where: str, request: pytest.FixtureRequest,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The grace period protects a blob whose row is not committed yet — on S3 too (its age comes from the
    object's LastModified; it used to count as infinitely old there, so gc deleted it)."""
    if where == "s3":
        _on_s3(request.getfixturevalue("s3_bucket"), monkeypatch)
    csv = tmp_path / "d.csv"
    pd.DataFrame({"x": range(50), "y": [i % 3 for i in range(50)]}).to_csv(csv, index=False)
    gate, env = _paused("after_blob_write", tmp_path)
    writer = _start("data", "register", "ds", str(csv), env=env)
    try:
        _wait_for(Path(f"{gate}.reached"), writer)
        swept = loopml("gc")  # the default grace period: one hour
        assert swept.returncode == 0 and "deleted 0 orphan blobs" in swept.stdout, swept.stdout + swept.stderr
        gate.touch()
        out, err = writer.communicate(timeout=180)
        assert writer.returncode == 0, err
    finally:
        gate.touch()
        writer.kill()
        writer.wait()
    from loopml.data import load_dataset

    assert load_dataset("ds")["x"].tolist() == list(range(50))
    assert loopml("fsck").returncode == 0


def test_a_writer_re_storing_old_bytes_renews_them(home: Path) -> None:
    """Re-storing bytes already present (a resumed crash, the same model twice) renews the blob's time, so an
    old orphan that a writer is about to record is not collected under it."""
    store = context.get_artifacts()
    ref = store.put_bytes(b"an orphan from a crashed attempt")
    path = store.blobs.root / "sha256" / ref.sha256[7:9] / ref.sha256[7:]  # type: ignore[attr-defined]
    two_hours_ago = time.time() - 7200
    os.utime(path, (two_hours_ago, two_hours_ago))
    assert (store.age(ref) or 0) > 7000
    assert store.put_bytes(b"an orphan from a crashed attempt") == ref  # the retry finds it stored
    assert (store.age(ref) or 1e9) < 600
    swept = loopml("gc")
    assert swept.returncode == 0 and "deleted 0 orphan blobs" in swept.stdout
    assert store.exists(ref)


@pytest.mark.slow
def test_on_s3_age_is_the_objects_last_modified_and_re_storing_renews_it(
        home: Path, s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _on_s3(s3_bucket, monkeypatch)
    store = context.get_artifacts()
    ref = store.put_bytes(b"young orphan on S3")
    age = store.age(ref)
    assert age is not None and age < 600
    swept = loopml("gc")
    assert swept.returncode == 0 and "deleted 0 orphan blobs" in swept.stdout
    assert store.exists(ref)
    deadline = time.monotonic() + 120
    while (store.age(ref) or 0) < 2.5:  # LastModified has one-second resolution
        assert time.monotonic() < deadline
        time.sleep(0.2)
    store.put_bytes(b"young orphan on S3")
    assert (store.age(ref) or 1e9) < 2.0
    assert "deleted 1 orphan blobs" in loopml("gc", "--grace", "0").stdout
    assert not store.exists(ref)


def test_one_gc_at_a_time_and_a_killed_one_does_not_block_the_next(home: Path, tmp_path: Path) -> None:
    store = context.get_artifacts()
    orphans = [store.put_bytes(f"orphan {i}".encode()) for i in range(3)]
    gate, env = _paused("gc_before_delete", tmp_path)
    first = _start("gc", "--grace", "0", env=env)
    try:
        _wait_for(Path(f"{gate}.reached"), first)
        second = loopml("gc", "--grace", "0")
        assert second.returncode == 2
        assert "another 'loopml gc' is running" in second.stderr and "Traceback" not in second.stderr
        assert all(store.exists(o) for o in orphans)
        gate.touch()
        out, _ = first.communicate(timeout=180)
        assert first.returncode == 0 and "deleted 3 orphan blobs" in out
    finally:
        gate.touch()
        first.kill()
        first.wait()
    again = store.put_bytes(b"orphan after a crash")
    gate, env = _paused("gc_before_delete", tmp_path)
    killed = _start("gc", "--grace", "0", env=env)
    _wait_for(Path(f"{gate}.reached"), killed)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    swept = loopml("gc", "--grace", "0")  # takes over at once from the dead process on this host
    assert swept.returncode == 0 and "deleted 1 orphan blobs" in swept.stdout, swept.stderr
    assert not store.exists(again)


def test_an_unreadable_folder_manifest_stops_gc_and_fsck_names_it(home: Path, tmp_path: Path) -> None:
    from loopml.core import identity

    with context.get_db().write() as conn:
        identity.grant(conn, "root", "admin", actor="root")
        identity.grant(conn, "alice", "data-scientist", actor="root")
    made = make_model(tmp_path)
    from loopml import registry

    digest = registry.get_version("churn", 1).digest
    store = context.get_artifacts()
    orphan = store.put_bytes(b"an orphan that must wait")
    flip_blob(digest)
    swept = loopml("gc", "--grace", "0")
    assert swept.returncode == 2
    assert f"model churn:1: {digest} corrupted (a folder manifest)" in swept.stderr
    assert "gc deleted nothing" in swept.stderr
    assert store.exists(orphan) and all(store.exists(d) for d, _ in made.bad)
    checked = loopml("fsck")
    assert checked.returncode == 1 and f"model churn:1: {digest} corrupted" in checked.stdout
