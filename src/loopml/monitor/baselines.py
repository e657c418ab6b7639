"""Baselines as stored artifacts: ``statistics.json`` and ``constraints.json`` from a dataset, a file, a
frame or a model version's training data.

The two documents are Model Monitor's shapes (see :func:`loopml.monitor.baseline`), kept in the
content-addressed store and, when asked, written to a folder so a user coming from SageMaker can read
and edit them; an edited file is stored again with :func:`store_baseline_files`.
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from loopml.core import context, integrity, userfiles
from loopml.errors import NotFoundError, ValidationError
from loopml.monitor.files import (
    _json_safe,
    read_constraints,
    read_statistics,
    write_constraints,
    write_statistics,
)
from loopml.monitor.statistics import baseline as profile


@dataclass(frozen=True)
class Baseline:
    """A stored baseline.

    Attributes:
        statistics_digest: ``sha256:…`` of ``statistics.json``.
        constraints_digest: ``sha256:…`` of ``constraints.json``.
        source: What was profiled (``dataset:churn@3``, a file name, ``model:churn:2``, ``frame``).
        item_count: Rows profiled.
        features: Feature names, in order.
        folder: Where the two files were written, if a folder was given.
    """

    statistics_digest: str
    constraints_digest: str
    source: str
    item_count: int
    features: tuple[str, ...]
    folder: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"statistics": self.statistics_digest, "constraints": self.constraints_digest,
                "source": self.source, "item_count": self.item_count, "features": list(self.features),
                "folder": str(self.folder) if self.folder else None}


def create_baseline(
    source: pd.DataFrame | str | Path,
    *,
    exclude: list[str] | None = None,
    folder: str | Path | None = None,
    **options: Any,
) -> Baseline:
    """Profile ``source`` and store ``statistics.json`` / ``constraints.json`` as artifacts.

    Args:
        source: A DataFrame; a dataset name (``churn`` or ``churn@3``); ``model:GROUP:VERSION`` or
            ``model:GROUP@approved`` for the training data of a model version; or a CSV/Parquet file.
        exclude: Columns to leave out (the label, ids).
        folder: Also write the two files there.
        **options: Passed to :func:`loopml.monitor.baseline` (``comparison_threshold``, ...).

    Returns:
        The stored :class:`Baseline`.

    Raises:
        NotFoundError: the dataset, file or model version does not exist.
        ValidationError: the source has no usable columns.
    """
    if folder is not None:
        userfiles.output_folder(folder, "baseline folder")
    frame, label = load_source(source)
    frame = frame.drop(columns=[c for c in (exclude or []) if c in frame.columns])
    if frame.shape[1] == 0:
        raise ValidationError(f"{label} has no columns left to profile; check exclude={exclude!r}")
    statistics, constraints = profile(frame, **options)
    return store_baseline(statistics, constraints, source=label, folder=folder)


def store_baseline(statistics: dict[str, Any], constraints: dict[str, Any], *, source: str = "frame",
                   folder: str | Path | None = None) -> Baseline:
    """Store already-built statistics and constraints dicts (and write them to ``folder``)."""
    if folder is not None:
        userfiles.output_folder(folder, "baseline folder")
    store = context.get_artifacts()
    stats_ref = store.put_bytes(_dumps(statistics))
    cons_ref = store.put_bytes(_dumps(constraints))
    with context.get_db().write() as conn:
        for ref in (stats_ref, cons_ref):
            integrity.record_artifact(conn, ref, media_type="application/json", actor=context.current_user())
    out = None
    if folder is not None:
        out = Path(folder)
        write_statistics(statistics, out / "statistics.json")
        write_constraints(constraints, out / "constraints.json")
    features = tuple(f["name"] for f in statistics["features"])
    return Baseline(stats_ref.sha256, cons_ref.sha256, source, int(statistics["dataset"]["item_count"]),
                    features, out)


def store_baseline_files(folder: str | Path) -> Baseline:
    """Store a folder's (possibly hand-edited) ``statistics.json`` and ``constraints.json``."""
    folder = userfiles.input_folder(folder, "baseline folder")
    statistics = read_statistics(folder / "statistics.json")
    constraints = read_constraints(folder / "constraints.json")
    return store_baseline(statistics, constraints, source=str(folder))


def load_baseline(statistics_digest: str, constraints_digest: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two documents of a stored baseline (hash-verified; a copy, so callers may change it)."""
    return copy.deepcopy(_load_json(statistics_digest)), copy.deepcopy(_load_json(constraints_digest))


@functools.lru_cache(maxsize=64)
def _load_json(digest: str) -> Any:
    """Content-addressed, so a digest's document never changes: safe to keep (verified on first read)."""
    return json.loads(context.get_artifacts().get_bytes(digest))


def load_source(source: pd.DataFrame | str | Path) -> tuple[pd.DataFrame, str]:
    """The frame to profile and a label naming it."""
    if isinstance(source, pd.DataFrame):
        return source, "frame"
    text = str(source)
    if text.startswith("model:"):
        return _model_training_data(text[len("model:"):])
    path = Path(text)
    if path.suffix.lower() in (".csv", ".parquet", ".pq") or path.exists():
        return _read_file(path), path.name
    return _dataset(text)


def _read_file(path: Path) -> pd.DataFrame:
    from loopml.data import read_table

    if not path.is_file():
        raise NotFoundError(f"no file {str(path)!r}; give a CSV or Parquet file, or a dataset name", path=str(path))
    return read_table(str(path))


def _dataset(text: str) -> tuple[pd.DataFrame, str]:
    from loopml.data import load_dataset

    name, _, version = text.partition("@")
    if version and not version.isdigit():
        raise ValidationError(f"dataset reference {text!r}: the version after '@' must be a number, e.g. churn@3")
    frame = load_dataset(name, int(version) if version else None)
    return frame, f"dataset:{text}"


def _model_training_data(ref: str) -> tuple[pd.DataFrame, str]:
    from loopml import registry

    version = registry.resolve(ref)
    datasets = [d for d in (version.lineage.get("datasets") or []) if d.get("name")]
    if not datasets:
        raise NotFoundError(
            f"model version {version.name} records no training dataset in its lineage; baseline a dataset "
            "or file instead: 'loopml monitor baseline DATASET'", model=version.name)
    first = datasets[0]
    frame, _ = _dataset(f"{first['name']}@{first['version']}" if first.get("version") else first["name"])
    inputs = [c["name"] for c in (version.signature or {}).get("inputs", []) if isinstance(c, dict)]
    if inputs:
        frame = frame[[c for c in inputs if c in frame.columns]]
    return frame, f"model:{version.name}"


def _dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(_json_safe(body), indent=2, allow_nan=False, default=str).encode()
