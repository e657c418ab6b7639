"""Writers and readers for ``statistics.json``, ``constraints.json`` and ``constraint_violations.json``.

Writes are atomic (a temporary file in the same folder, fsynced, then renamed), so a reader never sees
half a file. Readers check the shape they rely on and say what is wrong, with the path.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from loopml.core import userfiles
from loopml.errors import ValidationError

STATISTICS_FILE = "statistics.json"
CONSTRAINTS_FILE = "constraints.json"
VIOLATIONS_FILE = "constraint_violations.json"


def write_statistics(statistics: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write a statistics dict (from :func:`baseline`) to ``path``; return the path written."""
    _check_features(statistics, "statistics", str(path))
    return write_json(statistics, path)


def write_constraints(constraints: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write a constraints dict (from :func:`baseline`) to ``path``; return the path written."""
    _check_features(constraints, "constraints", str(path))
    return write_json(constraints, path)


def write_violations(report: Any, path: str | os.PathLike[str]) -> Path:
    """Write a report's ``constraint_violations.json`` (anything with ``to_dict()``, or a dict)."""
    body = report if isinstance(report, dict) else report.to_dict()
    return write_json(body, path)


def read_statistics(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and shape-check a ``statistics.json`` file.

    Raises:
        NotFoundError: the file does not exist.
        ValidationError: the file is not JSON or has no ``features`` list of named features.
    """
    return _check_features(read_json(path), "statistics", str(path))


def read_constraints(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and shape-check a ``constraints.json`` file (same errors as :func:`read_statistics`)."""
    return _check_features(read_json(path), "constraints", str(path))


def write_json(body: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Atomically write ``body`` as JSON (NaN and infinities become null) and return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_json_safe(body), indent=2, allow_nan=False)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file, turning a missing or malformed file into a loopml error."""
    text = userfiles.read_text(path, "JSON file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{str(path)!r} is not valid JSON (line {exc.lineno}); rewrite it with write_statistics/"
            "write_constraints.",
            path=str(path),
        ) from exc


def _check_features(body: Any, kind: str, where: str | None = None) -> dict[str, Any]:
    """Return ``body`` if it has a list of named features; else raise, citing the file when known."""
    source = f"{kind} at {where!r}" if where else f"the {kind} argument"
    features = body.get("features") if isinstance(body, dict) else None
    if not isinstance(features, list):
        raise ValidationError(
            f"{source} has no 'features' list; expected Model Monitor's {kind}.json shape "
            "({'version': 0.0, 'features': [...]}). Regenerate it with loopml.monitor.baseline().",
            path=where,
        )
    bad = [i for i, f in enumerate(features) if not (isinstance(f, dict) and isinstance(f.get("name"), str))]
    if bad:
        raise ValidationError(
            f"{source}: features at positions {bad[:5]} have no string 'name'; every feature "
            "needs 'name' and 'inferred_type'.",
            path=where,
        )
    checked: dict[str, Any] = body  # a dict: a non-dict body has no 'features' list and was refused above
    return checked


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value
