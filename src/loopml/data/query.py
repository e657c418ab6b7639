"""SQL over the catalog in DuckDB: datasets are tables named after them.

A query refers to the latest version of a dataset by its name (``SELECT * FROM churn``) and to a fixed
version by a quoted ``name@version`` (``SELECT * FROM "churn@2"``). Only the datasets a query names are
loaded, each verified by hash. The DuckDB session has file and network access switched off, so a query
reads the catalog and nothing else.
"""

from __future__ import annotations

import re

import duckdb
import pandas as pd
import pyarrow as pa

from loopml.core import checks
from loopml.data.catalog import DatasetVersion, get_dataset, list_datasets, load_arrow
from loopml.errors import NotFoundError, ValidationError

_PINNED = re.compile(r'"([A-Za-z_][A-Za-z0-9_]{0,62})@(\d+)"')
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MISSING_TABLE = re.compile(r"Table with name (\S+) does not exist")


def referenced_datasets(query: str) -> dict[str, DatasetVersion]:
    """The dataset versions a query names, by table name: pinned ``"name@N"`` ones and the latest of bare
    names."""
    found: dict[str, DatasetVersion] = {}
    for name, version in _PINNED.findall(query):
        found[f"{name}@{version}"] = get_dataset(name, int(version))
    words = {w.lower() for w in _WORD.findall(_PINNED.sub(" ", query))}
    for info in list_datasets():
        if info.name.lower() in words:
            found[info.name] = info
    return found


def _session(tables: dict[str, pa.Table]) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(":memory:")
    for view, table in tables.items():
        conn.register(view, table)
    conn.execute("SET enable_external_access = false")
    conn.execute("SET lock_configuration = true")
    return conn


def execute(query: str, tables: dict[str, pa.Table]) -> pa.Table:
    """Run ``query`` in a sealed DuckDB session over ``tables`` (view name -> table).

    Raises:
        NotFoundError: the query names a table that is not there.
        ValidationError: the query does not parse, or fails.
    """
    if not isinstance(query, str) or not query.strip():
        raise ValidationError("the SQL query is empty; write a SELECT over registered datasets")
    conn = _session(tables)
    try:
        result = conn.execute(query)
        if result.description is None:
            raise ValidationError(f"the SQL {query[:80]!r} returns no rows; write a SELECT query", sql=query)
        return result.fetch_arrow_table()
    except duckdb.CatalogException as exc:
        raise _translate_missing(exc, query, tables) from exc
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise ValidationError(f"the SQL failed: {first}; fix the query", sql=query[:200]) from exc
    finally:
        conn.close()


def _translate_missing(exc: Exception, query: str, tables: dict[str, pa.Table]) -> Exception:
    match = _MISSING_TABLE.search(str(exc))
    if match is None:
        return ValidationError(f"the SQL failed: {str(exc).splitlines()[0]}; fix the query", sql=query[:200])
    names = sorted(v.name for v in list_datasets())
    return NotFoundError(
        f"the SQL names {match.group(1)!r}, which is not a registered dataset; registered: "
        f"{', '.join(names) or '(none)'}", name=match.group(1),
    )


def run_sql(query: str) -> tuple[pa.Table, list[DatasetVersion]]:
    """Run a query over the catalog; returns the result and the dataset versions it read."""
    inputs = referenced_datasets(checks.text(query, "the SQL query"))
    tables = {view: load_arrow(info) for view, info in inputs.items()}
    return execute(query, tables), list(inputs.values())


def sql(query: str) -> pd.DataFrame:
    """Run a DuckDB SQL query over the catalog and return the result.

    Args:
        query: a SELECT naming datasets as tables (``churn``; ``"churn@2"`` for a fixed version).

    Raises:
        NotFoundError: the query names a dataset (or version) that is not registered.
        ValidationError: the query does not parse or fails.

    Example:
        >>> sql("SELECT plan, count(*) AS n FROM churn GROUP BY plan")  # doctest: +SKIP
    """
    return run_sql(query)[0].to_pandas()
