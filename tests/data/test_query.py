from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from loopml.data import list_datasets, register_dataset, sql
from loopml.errors import NotFoundError, ValidationError


def test_sql_over_latest_and_pinned_versions(churn_csv: Path) -> None:
    register_dataset("churn", churn_csv)
    register_dataset("churn", pd.DataFrame({"plan": ["x"], "churned": [1]}))
    latest = sql("SELECT plan, sum(churned) AS n FROM churn GROUP BY plan")
    assert latest.to_dict("records") == [{"plan": "x", "n": 1}]
    pinned = sql('SELECT count(*) AS n FROM "churn@1"')
    assert pinned["n"].tolist() == [200]
    both = sql('SELECT (SELECT count(*) FROM churn) + (SELECT count(*) FROM "churn@1") AS n')
    assert both["n"].tolist() == [201]


def test_register_from_sql_records_lineage(churn_csv: Path) -> None:
    base = register_dataset("churn", churn_csv)
    derived = register_dataset(
        "churn_by_plan", sql="SELECT plan, avg(spend) AS spend FROM churn GROUP BY plan ORDER BY plan"
    )
    assert derived.format == "sql" and derived.rows == 3
    assert derived.lineage["inputs"] == [{"name": "churn", "version": 1, "content_hash": base.content_hash}]
    assert derived.sql.startswith("SELECT plan")


@pytest.mark.parametrize(
    ("query", "error", "match"),
    [
        ("SELECT * FROM nope", NotFoundError, "names 'nope', which is not a registered dataset; registered: churn"),
        ('SELECT * FROM "churn@9"', NotFoundError, "has no version 9"),
        ("SELEC 1", ValidationError, "Parser Error"),
        ("SELECT missing_col FROM churn", ValidationError, "the SQL failed: Binder Error"),
        ("SELECT * FROM read_csv('/etc/passwd')", ValidationError, "Permission Error"),
        ("COPY churn TO 'out.csv'", ValidationError, "the SQL failed"),
        ("   ", ValidationError, "empty"),
    ],
)
def test_sql_errors_are_clear_and_sealed(churn_csv: Path, query: str, error, match: str) -> None:
    register_dataset("churn", churn_csv)
    with pytest.raises(error, match=match):
        sql(query)
    assert not Path("out.csv").exists()


def test_failed_sql_registration_writes_nothing(churn_csv: Path) -> None:
    register_dataset("churn", churn_csv)
    with pytest.raises(ValidationError):
        register_dataset("bad", sql="SELECT nonsense FROM churn")
    assert [d.name for d in list_datasets()] == ["churn"]
