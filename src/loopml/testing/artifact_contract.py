"""The contract every :class:`~loopml.core.artifacts.ArtifactStore` back end must honour.

Each check takes a fresh store (and a scratch folder) and raises AssertionError on a violation.
``tests/contract/test_artifact_store.py`` runs them over the local folder and a real S3 server.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from loopml.core.artifacts import ArtifactStore
from loopml.errors import ArtifactCorrupted, IntegrityError, NotFoundError, ValidationError


def roundtrip_bytes(store: ArtifactStore, scratch: Path) -> None:
    data = b"loopml" * 1000
    ref = store.put_bytes(data)
    assert ref.sha256 == "sha256:" + hashlib.sha256(data).hexdigest()
    assert ref.size == len(data)
    assert store.get_bytes(ref) == data
    assert store.get_bytes(ref.sha256) == data
    assert store.exists(ref)


def identical_content_stored_once(store: ArtifactStore, scratch: Path) -> None:
    before = len(store.digests())
    first, second = store.put_bytes(b"same"), store.put_bytes(b"same")
    assert first == second
    assert len(store.digests()) == before + 1


def roundtrip_file_and_folder(store: ArtifactStore, scratch: Path) -> None:
    src = scratch / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "sub" / "b.bin").write_bytes(bytes(range(256)) * 100)
    file_ref = store.put_file(src / "a.txt")
    assert store.get_file(file_ref, scratch / "out.txt").read_text() == "alpha"
    dir_ref = store.put_dir(src)
    out = store.get_dir(dir_ref, scratch / "copy")
    assert (out / "a.txt").read_text() == "alpha"
    assert (out / "sub" / "b.bin").read_bytes() == bytes(range(256)) * 100
    assert store.put_dir(src) == dir_ref


def declared_digest_mismatch_keeps_nothing(store: ArtifactStore, scratch: Path) -> None:
    before = store.digests()
    wrong = "sha256:" + hashlib.sha256(b"other").hexdigest()
    try:
        store.put_bytes(b"payload", expected_sha256=wrong)
    except IntegrityError:
        pass
    else:
        raise AssertionError("a wrong declared digest was accepted")
    assert store.digests() == before


def missing_and_malformed_digests(store: ArtifactStore, scratch: Path) -> None:
    for bad in ("../../etc/passwd", "sha256:xyz", "/etc/passwd", "sha256:" + "A" * 64):
        try:
            store.get_bytes(bad)
        except ValidationError:
            continue
        raise AssertionError(f"malformed digest {bad!r} was accepted")
    try:
        store.get_bytes("sha256:" + "0" * 64)
    except NotFoundError:
        return
    raise AssertionError("a missing artifact did not raise NotFoundError")


def corruption_is_detected(store: ArtifactStore, scratch: Path) -> None:
    ref = store.put_bytes(b"precious model bytes")
    key = f"sha256/{ref.sha256[7:9]}/{ref.sha256[7:]}"
    tampered = scratch / "tampered"
    tampered.write_bytes(b"Precious model bytes")
    store.blobs.put_file(tampered, key)
    try:
        store.get_bytes(ref)
    except ArtifactCorrupted as exc:
        assert ref.sha256 in str(exc)
    else:
        raise AssertionError("a flipped byte was not detected")
    assert not store.verify(ref)


def age_is_known_and_touch_keeps_the_bytes(store: ArtifactStore, scratch: Path) -> None:
    ref = store.put_bytes(b"a blob garbage collection must be able to age")
    age = store.age(ref)
    assert age is not None and -5.0 < age < 600.0, f"age {age} of a blob written just now"
    key = f"sha256/{ref.sha256[7:9]}/{ref.sha256[7:]}"
    store.blobs.touch(key)
    assert store.blobs.stat(key).size == ref.size
    assert store.get_bytes(ref) == b"a blob garbage collection must be able to age"
    assert store.age("sha256:" + "0" * 64) is None
    try:
        store.blobs.touch("sha256/00/" + "0" * 64)
    except FileNotFoundError:
        return
    raise AssertionError("touching a missing blob did not raise FileNotFoundError")


CONTRACT: list[Callable[[ArtifactStore, Path], None]] = [
    roundtrip_bytes,
    identical_content_stored_once,
    roundtrip_file_and_folder,
    declared_digest_mismatch_keeps_nothing,
    missing_and_malformed_digests,
    corruption_is_detected,
    age_is_known_and_touch_keeps_the_bytes,
]
