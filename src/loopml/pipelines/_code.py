"""Code identity: step source hashes, the git commit and dirty-diff hash, and loading ``MODULE:NAME`` refs."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import subprocess
import sys
import textwrap
from functools import lru_cache
from pathlib import Path
from typing import Any

from loopml.core.hashing import sha256_file
from loopml.errors import NotFoundError, ValidationError


@lru_cache(maxsize=512)
def code_hash(fn: Any) -> str:
    """sha256 of a function's source (dedented), falling back to its bytecode."""
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        source = repr(getattr(getattr(fn, "__code__", None), "co_code", fn))
    return hashlib.sha256(source.encode()).hexdigest()


_MAX_DIRTY_FILES = 500
_MAX_HASHED_BYTES = 64 << 20


def git_info(path: Path | None) -> dict[str, Any]:
    """The code identity of the git repository holding ``path``.

    Returns ``commit`` (HEAD), ``dirty`` (True when a tracked file is modified or a file git does not
    track is present, the pipeline file itself included), ``diff_sha256`` (one hash over the diff against
    HEAD and the untracked files' contents) and ``files``: each modified or untracked file's path
    (relative to the repository) and the sha256 of its current bytes, so the code that ran can be told
    apart from the commit even when the commit does not contain it.
    """
    empty: dict[str, Any] = {"commit": None, "dirty": None, "diff_sha256": None, "files": {}}
    if path is None:
        return empty
    cwd = path if path.is_dir() else path.parent

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.decode(errors="replace") if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    top = git("rev-parse", "--show-toplevel")
    if commit is None or top is None:
        return empty
    root = Path(top.strip())
    diff = git("-C", str(root), "diff", "HEAD", "--no-ext-diff", "--binary") or ""
    changed = (git("-C", str(root), "diff", "HEAD", "--name-only", "-z") or "").split("\0")
    untracked = (git("-C", str(root), "ls-files", "--others", "--exclude-standard", "-z") or "").split("\0")
    files = _file_hashes(root, sorted({f for f in changed + untracked if f})[:_MAX_DIRTY_FILES])
    dirty = bool(diff) or bool(files)
    summary = hashlib.sha256(diff.encode())
    for name in sorted(untracked):
        if name in files:
            summary.update(f"\0{name}\0{files[name]}".encode())
    return {
        "commit": commit.strip(),
        "dirty": dirty,
        "diff_sha256": summary.hexdigest() if dirty else None,
        "files": files,
    }


def _file_hashes(root: Path, names: list[str]) -> dict[str, str]:
    """sha256 of each named file under ``root``; ``deleted`` for a file that is gone, ``too-large`` past 64 MiB."""
    found: dict[str, str] = {}
    for name in names:
        file = root / name
        if not file.is_file():
            found[name] = "deleted"
        elif file.stat().st_size > _MAX_HASHED_BYTES:
            found[name] = "too-large"
        else:
            found[name] = sha256_file(file)
    return found


def source_file(obj: Any) -> Path | None:
    try:
        return Path(inspect.getfile(obj)).resolve()
    except (TypeError, OSError):
        return None


def portable_ref(obj: Any) -> str:
    """``module:qualname``, or ``/path/file.py:qualname`` for objects defined in ``__main__`` or a script."""
    module = obj.__module__
    if module == "__main__" or module.startswith("loopml_user_"):
        path = source_file(obj)
        if path is None:
            raise ValidationError(f"{obj.__qualname__} has no source file; define it in a module")
        return f"{path}:{obj.__qualname__}"
    return f"{module}:{obj.__qualname__}"


def load_ref(ref: str) -> Any:
    """Import ``MODULE:NAME`` or ``path/to/file.py:NAME`` and return the object."""
    module_part, sep, name = ref.rpartition(":")
    if not sep or not module_part or not name:
        raise ValidationError(f"{ref!r} is not MODULE:NAME (for example examples/churn/pipeline.py:churn)")
    if module_part.endswith(".py") or "/" in module_part:
        module = _import_file(Path(module_part))
    else:
        try:
            module = importlib.import_module(module_part)
        except (ImportError, ValueError) as exc:  # ValueError: an empty or relative module name
            raise NotFoundError(f"cannot import module {module_part!r} ({exc}); check the name and PYTHONPATH") from exc
    obj: Any = module
    for part in name.split("."):
        if not hasattr(obj, part):
            raise NotFoundError(f"{module_part} has no {name!r}; check the name after the colon")
        obj = getattr(obj, part)
    return obj


def _import_file(path: Path) -> Any:
    path = path.resolve()
    if not path.is_file():
        raise NotFoundError(f"no such file {path}; give the path of a Python file")
    mod_name = "loopml_user_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise NotFoundError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[mod_name]
        raise
    return module
