"""Reading a folder tree without following anything, and writing one from bytes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from loopml.errors import ValidationError

#: Derived files a Python folder may hold; skipped when a folder is taken in as code.
SKIPPED = ("__pycache__",)


def scan_tree(root: Path) -> list[str]:
    """Every regular file under ``root`` (relative, ``/``-separated), examined without following links.

    Raises:
        ValidationError: naming every symbolic link, hard-linked file and special file under ``root``.
    """
    files: list[str] = []
    problems: list[str] = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        for name in sorted(dirs + names):
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                problems.append(f"{rel} is a symbolic link")
            elif stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
                problems.append(f"{rel} is hard-linked ({st.st_nlink} names; it may be a file outside the folder)")
            elif stat.S_ISREG(st.st_mode):
                files.append(rel)
            elif not stat.S_ISDIR(st.st_mode):
                problems.append(f"{rel} is not a regular file or folder")
    if problems:
        raise ValidationError(f"{root} cannot be registered: {'; '.join(problems[:10])}. Model folders hold regular "
                              "files only (links are refused, never followed); copy the real files in",
                              problems=problems)
    return sorted(files)


def write_files(dest: Path, files: dict[str, bytes]) -> None:
    """Write ``{relative path: bytes}`` under ``dest`` (which must not exist)."""
    dest.mkdir(parents=True)
    for rel, data in files.items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def read_tree(root: Path, *, only: list[str] | None = None) -> dict[str, bytes]:
    """``{relative path: bytes}`` of the regular files under ``root`` (or just ``only``), refusing links and
    special files and skipping ``__pycache__``; each path must be a plain relative path."""
    from loopml.models.manifest import read_file
    from loopml.models.safety import check_relative_path

    if root.is_symlink() or not root.is_dir():
        raise ValidationError(f"{root} is not a folder", path=str(root))
    names = only if only is not None else [r for r in scan_tree(root) if not set(r.split("/")) & set(SKIPPED)]
    return {check_relative_path(rel): read_file(root, rel) for rel in names}
