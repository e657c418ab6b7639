"""Data preparation: the dataset catalog, SQL over it, transform recipes, profiling and leakage checks.

- :func:`register_dataset` / :func:`load_dataset` / :func:`sql`: datasets versioned by content, stored as
  Parquet, queried with DuckDB.
- :class:`Recipe`: declarative transforms compiled to a scikit-learn pipeline that is saved with a model.
- :func:`profile`: per-column statistics and warnings, as JSON or a self-contained HTML report.
- :func:`detect_leakage`: features that give the target away.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "DatasetVersion": "loopml.data.catalog",
    "register_dataset": "loopml.data.catalog",
    "list_datasets": "loopml.data.catalog",
    "get_dataset": "loopml.data.catalog",
    "dataset_versions": "loopml.data.catalog",
    "load_dataset": "loopml.data.catalog",
    "read_table": "loopml.data.catalog",
    "ColumnSchema": "loopml.data.schema",
    "infer_schema": "loopml.data.schema",
    "sql": "loopml.data.query",
    "Recipe": "loopml.data.recipe",
    "save_recipe": "loopml.data.recipe",
    "load_recipe": "loopml.data.recipe",
    "TRUSTED_TYPES": "loopml.data.transformers",
    "profile": "loopml.data.profiling",
    "profile_html": "loopml.data.profiling",
    "detect_leakage": "loopml.data.leakage",
    "LeakageFinding": "loopml.data.leakage",
    "LeakageReport": "loopml.data.leakage",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'loopml.data' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)
