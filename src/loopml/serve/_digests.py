"""The sha256 of a transform's input file, reused while the file is unchanged (a stat-keyed cache, as git's
index and DVC's state database keep one).

A transform names its job by the input's digest, so that running it again resumes; hashing a large input on
every run was the largest fixed cost of a warm transform (a 200 MB Parquet file: 0.3–0.4 s, more under
load). The digest is recorded in ``serve_file_digests`` with the file's stat — device, inode, size,
``mtime_ns`` and ``ctime_ns`` — and the time hashing began; a later call that finds the same stat reuses it.
A rewrite changes the modification time or, if someone sets that back (``os.utime``, ``touch -r``), the
change time, which nobody can set. What a stat cannot show is a rewrite within the same timestamp tick as
the hashing (a "racily clean" file in git's words): so, as git does, a digest recorded when the file had
changed (modification or change time) less than :data:`RACY_SECONDS` before hashing began is never
trusted later, and such a file is hashed again each time until it has been left alone that long. The
window also covers coarse file-system timestamps and a file server whose clock is a little behind.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from loopml.core import context
from loopml.core.hashing import sha256_file
from loopml.serve._tables import file_digests

RACY_SECONDS = 2.0
_Stat = tuple[str, int, int, int]


def file_digest(path: Path) -> str:
    """``sha256:<hex>`` of the file at ``path``: the recorded one if the file is unchanged since it was
    hashed (and was not modified within :data:`RACY_SECONDS` before that), else hashed now and recorded."""
    path = path.resolve()
    key = hashlib.sha256(os.fsencode(path)).hexdigest()
    stat = _stat(path)
    with context.get_db().read() as conn:
        row = conn.execute(sa.select(file_digests).where(file_digests.c.path_key == key)).first()
    if row is not None and _is_trusted(row, stat):
        return str(row.digest)
    started = time.time_ns()
    digest = hash_file(path)
    if _stat(path) == stat:  # not changed while it was read (else a later call hashes it again)
        _record(key, path, stat, digest, started)
    return digest


def hash_file(path: Path) -> str:
    """``sha256:<hex>`` of the file's bytes, read now."""
    return sha256_file(path)


def _stat(path: Path) -> _Stat:
    st = path.stat()
    return f"{st.st_dev}:{st.st_ino}", st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _is_trusted(row: sa.Row[tuple[object, ...]], stat: _Stat) -> bool:
    """The file has the recorded stat, and its last change (content or status) came at least
    :data:`RACY_SECONDS` before the hashing began."""
    same = (row.file_id, row.size, row.mtime_ns, row.ctime_ns) == stat
    return same and max(row.mtime_ns, row.ctime_ns) < row.hashed_at_ns - int(RACY_SECONDS * 1e9)


def _record(key: str, path: Path, stat: _Stat, digest: str, hashed_at_ns: int) -> None:
    file_id, size, mtime_ns, ctime_ns = stat
    with context.get_db().write() as conn:
        conn.execute(file_digests.delete().where(file_digests.c.path_key == key))
        conn.execute(file_digests.insert().values(path_key=key, path=str(path), file_id=file_id, size=size,
                                                  mtime_ns=mtime_ns, ctime_ns=ctime_ns, digest=digest,
                                                  hashed_at_ns=hashed_at_ns))


def forget_stale(db: Any) -> int:
    """Remove the recorded digests of files that are gone or changed since (``loopml gc`` calls it): they
    would never be trusted again. Files are checked outside any transaction, and a row recorded again
    meanwhile is kept; returns the rows removed."""
    c = file_digests.c
    with db.read() as conn:
        rows = conn.execute(sa.select(c.path_key, c.hashed_at_ns, c.path, c.file_id, c.size, c.mtime_ns,
                                      c.ctime_ns)).all()
    stale = [(row.path_key, row.hashed_at_ns) for row in rows if _current_stat(Path(row.path)) != tuple(row)[3:]]
    if stale:
        with db.write() as conn:
            for key, hashed_at in stale:
                conn.execute(file_digests.delete().where(c.path_key == key, c.hashed_at_ns == hashed_at))
    return len(stale)


def _current_stat(path: Path) -> _Stat | None:
    try:
        return _stat(path)
    except OSError:
        return None

