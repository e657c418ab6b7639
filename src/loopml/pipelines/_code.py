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

from loopml.errors import NotFoundError, ValidationError


@lru_cache(maxsize=512)
def code_hash(fn: Any) -> str:
    """sha256 of a function's source (dedented), falling back to its bytecode."""
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        source = repr(getattr(getattr(fn, "__code__", None), "co_code", fn))
    return hashlib.sha256(source.encode()).hexdigest()


def git_info(path: Path | None) -> dict[str, Any]:
    """The git commit of the repository holding ``path``, whether it is dirty, and the hash of the diff."""
    if path is None:
        return {"commit": None, "dirty": None, "diff_sha256": None}
    cwd = path if path.is_dir() else path.parent

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.decode(errors="replace") if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None, "diff_sha256": None}
    diff = git("diff", "HEAD") or ""
    return {
        "commit": commit.strip(),
        "dirty": bool(diff),
        "diff_sha256": hashlib.sha256(diff.encode()).hexdigest() if diff else None,
    }


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
        except ModuleNotFoundError as exc:
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
