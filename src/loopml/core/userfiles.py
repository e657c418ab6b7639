"""Files and folders a user names (an input to read, a report or folder to write).

Each function checks the path before using it and says what is wrong and what to do — a missing file,
a folder where a file was expected, a file where a folder was expected, bytes that are not text — as a
:class:`~loopml.errors.ValidationError` or :class:`~loopml.errors.NotFoundError`. Writes are atomic: a
failed write leaves nothing under the final name.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from loopml.errors import NotFoundError, ValidationError


def _given(path: str | os.PathLike[str], what: str, expected: str) -> Path:
    if str(path) == "":
        raise ValidationError(f"the {what} path is empty; give {expected}")
    return Path(path)


def input_file(path: str | os.PathLike[str], what: str = "file") -> Path:
    """``path`` as an existing, readable regular file.

    Raises:
        NotFoundError: nothing is there.
        ValidationError: it is a folder, or cannot be read.
    """
    found = _given(path, what, "the path of a file")
    if found.is_dir():
        raise ValidationError(f"{what} {str(found)!r} is a folder; give the path of a file")
    if not found.exists():
        raise NotFoundError(f"{what} {str(found)!r} does not exist; check the path")
    if not os.access(found, os.R_OK):
        raise ValidationError(f"{what} {str(found)!r} cannot be read (permission denied)")
    return found


def read_bytes(path: str | os.PathLike[str], what: str = "file") -> bytes:
    """The bytes of an input file (see :func:`input_file`)."""
    try:
        return input_file(path, what).read_bytes()
    except OSError as exc:
        raise ValidationError(f"{what} {str(path)!r} cannot be read ({exc.strerror})") from exc


def read_text(path: str | os.PathLike[str], what: str = "file") -> str:
    """The UTF-8 text of an input file; a binary file is refused by name."""
    data = read_bytes(path, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{what} {str(path)!r} is not UTF-8 text (byte {exc.start} is "
                              f"{data[exc.start:exc.start + 1]!r}); give a text file") from exc


def output_file(path: str | Path, what: str = "output file") -> Path:
    """``path`` as a place a file can be written: not a folder, in a folder that exists."""
    target = _given(path, what, "a file path")
    if target.is_dir():
        raise ValidationError(f"{what} {str(target)!r} is a folder; give a file path inside it")
    parent = target.parent
    if not parent.is_dir():
        state = "is a file, not a folder" if parent.exists() else "does not exist"
        raise ValidationError(f"cannot write {what} {str(target)!r}: {str(parent)!r} {state}; "
                              "create the folder first or pick another path")
    return target


def write_text(path: str | Path, text: str, what: str = "output file") -> Path:
    """Write ``text`` to ``path`` atomically (a temporary file, then a rename)."""
    target = output_file(path, what)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ValidationError(f"cannot write {what} {str(target)!r} ({exc.strerror})") from exc
    return target


def output_folder(path: str | Path, what: str = "output folder") -> Path:
    """``path`` as a folder to write into, created if missing; an existing file there is refused."""
    folder = _given(path, what, "a folder path")
    if folder.exists() and not folder.is_dir():
        raise ValidationError(f"{what} {str(folder)!r} is a file; give a folder path")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise ValidationError(f"cannot create {what} {str(folder)!r}: a file is in the way "
                              f"({exc.filename!r}); give another path") from exc
    except OSError as exc:
        raise ValidationError(f"cannot create {what} {str(folder)!r} ({exc.strerror})") from exc
    return folder


def input_folder(path: str | Path, what: str = "folder") -> Path:
    """``path`` as an existing folder."""
    folder = _given(path, what, "a folder path")
    if not folder.exists():
        raise NotFoundError(f"{what} {str(folder)!r} does not exist; check the path")
    if not folder.is_dir():
        raise ValidationError(f"{what} {str(folder)!r} is a file; give a folder")
    return folder
