"""From the references the records hold to every blob they reach, and what is wrong with each.

Folder manifests are followed to their files, JSON documents to the digests they mention, and a blob of
unknown kind is recognised as a folder manifest by its first bytes. A folder a record needs whose
manifest cannot be read is *unreadable*: the files it names are unknown, so ``gc`` must delete nothing.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field

from loopml.core.artifacts import ArtifactStore
from loopml.core.hashing import sha256_stream
from loopml.core.references import BYTES, FOLDER, JSON, UNKNOWN, FileReference, Found, Reference, mentions
from loopml.errors import ArtifactCorrupted, LoopmlError, NotFoundError, ValidationError

_MANIFEST_HEAD = b'{"files":['


@dataclass(frozen=True)
class Finding:
    """A reachable blob or file that is missing or corrupted, and the record that names it."""

    problem: str
    digest: str
    record: str

    def __str__(self) -> str:
        return f"{self.record}: {self.digest} {self.problem}"


@dataclass
class Reachability:
    """Blobs reached (digest -> the references reaching it, most specific first) and files named."""

    store: ArtifactStore
    present: dict[str, int]
    holders: dict[str, list[Reference]] = field(default_factory=dict)
    files: list[FileReference] = field(default_factory=list)
    unreadable: list[Finding] = field(default_factory=list)
    checked: int = 0

    def check(self, *, deep: bool) -> list[Finding]:
        """Missing or corrupted reachable blobs and files, one finding per naming record."""
        findings = []
        for digest in sorted(self.holders):
            problem = self._problem(digest, deep=deep)
            if problem:
                findings += [Finding(problem, digest, r) for r in _records(self.holders[digest], problem)]
        for ref in self.files:
            self.checked += 1
            problem = _file_problem(ref, deep=deep)
            if problem:
                findings.append(Finding(problem, ref.sha256 or ref.url, f"{ref.owner} file {ref.url}"))
        return findings

    def _problem(self, digest: str, *, deep: bool) -> str | None:
        if digest not in self.present:
            return "missing" if any(r.required for r in self.holders[digest]) else None
        self.checked += 1
        try:
            return None if not deep or self.store.verify(digest) else "corrupted"
        except NotFoundError:
            return "missing"


def _records(holders: list[Reference], problem: str) -> list[str]:
    named = [r for r in holders if r.required or problem != "missing"]
    specific = [r for r in named if not r.owner.startswith("artifact (")] or named
    return list(dict.fromkeys(r.describe() for r in specific))


def walk(store: ArtifactStore, found: list[Found], present: dict[str, int]) -> Reachability:
    """Follow ``found`` through folder manifests and JSON documents."""
    reach = Reachability(store, present, files=[r for r in found if isinstance(r, FileReference)])
    refs = [r for r in found if isinstance(r, Reference)]
    # required and record-specific references first, so a folder's files are named after its best owner
    refs.sort(key=lambda r: (r.owner.startswith("artifact ("), not r.required))
    todo, expanded = deque(refs), set()
    while todo:
        ref = todo.popleft()
        reach.holders.setdefault(ref.digest, []).append(ref)
        if ref.digest not in present:
            if ref.kind == FOLDER and ref.required:
                reach.unreadable.append(Finding("missing (a folder manifest)", ref.digest, ref.describe()))
        elif ref.kind != BYTES and (key := (ref.digest, ref.kind, ref.required)) not in expanded:
            expanded.add(key)
            todo.extend(_expand(reach, ref))
    return reach


def _expand(reach: Reachability, ref: Reference) -> list[Reference]:
    store = reach.store
    try:
        if ref.kind == JSON:
            return list(mentions(store.read_unverified(ref.digest).decode("utf-8", "replace"), ref.owner))
        if ref.kind == UNKNOWN and not store.read_unverified(ref.digest, limit=len(_MANIFEST_HEAD)).startswith(
                _MANIFEST_HEAD):
            return []
    except NotFoundError:
        return []
    try:
        manifest = store.read_manifest(ref.digest)
    except ValidationError:
        return []  # not a folder after all: plain bytes
    except LoopmlError as exc:
        problem = "corrupted" if isinstance(exc, ArtifactCorrupted) else "missing"
        reach.unreadable.append(Finding(f"{problem} (a folder manifest)", ref.digest, ref.describe()))
        return []
    return [Reference(entry["sha256"], ref.owner, BYTES, ref.required, entry["path"]) for entry in manifest["files"]]


def _file_problem(ref: FileReference, *, deep: bool) -> str | None:
    import fsspec

    from loopml.core.blobs import storage_options

    try:
        with fsspec.open(ref.url, "rb", **storage_options(ref.url)) as fh:
            if not deep or ref.sha256 is None:
                return None
            actual = sha256_stream(fh)
    except (FileNotFoundError, IsADirectoryError):
        return "missing"
    except OSError as exc:
        return f"unreadable ({os.strerror(exc.errno) if exc.errno else type(exc).__name__})"
    return None if actual == ref.sha256 else "corrupted"
