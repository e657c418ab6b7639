from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from loopml.core import context
from loopml.core._tables import audit_events
from loopml.data import dataset_versions, get_dataset, list_datasets, load_dataset, register_dataset
from loopml.errors import ArtifactCorrupted, NotFoundError, ValidationError
from tests.data.conftest import churn_frame


def _audit_actions() -> list[str]:
    with context.get_db().read() as conn:
        return list(conn.execute(sa.select(audit_events.c.action).order_by(audit_events.c.seq)).scalars())


def test_register_csv_infers_schema_and_round_trips(churn_csv: Path) -> None:
    info = register_dataset("churn", churn_csv, description="monthly export")
    assert (info.name, info.version, info.rows, info.format) == ("churn", 1, 200, "csv")
    types = {c.name: c.logical_type for c in info.schema}
    assert types == {"customer_id": "integer", "plan": "categorical", "tenure": "integer", "spend": "float",
                     "churned": "integer"}
    assert next(c for c in info.schema if c.name == "plan").categories == ("basic", "pro", "team")
    assert info.lineage["source"]["sha256"].startswith("sha256:") and info.created_by == "alice"
    pd.testing.assert_frame_equal(load_dataset("churn"), churn_frame())
    assert _audit_actions().count("dataset.register") == 1


def test_same_content_returns_existing_version_and_new_content_adds_one(churn_csv: Path, tmp_path: Path) -> None:
    first = register_dataset("churn", churn_csv)
    churn_frame().to_parquet(tmp_path / "same.parquet", index=False)
    again = register_dataset("churn", tmp_path / "same.parquet")
    assert again.id == first.id and again.version == 1
    changed = register_dataset("churn", churn_frame(seed=1))
    assert changed.version == 2 and changed.content_hash != first.content_hash
    assert [v.version for v in dataset_versions("churn")] == [1, 2]
    assert get_dataset("churn").version == 2 and get_dataset("churn", 1).id == first.id
    assert load_dataset("churn", 1).equals(churn_frame())
    assert _audit_actions().count("dataset.register") == 2


def test_jsonl_and_nullable_columns(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"a": 1, "b": "x", "t": "2024-01-01T00:00:00Z"}\n{"a": null, "b": "y", "t": null}\n')
    info = register_dataset("events", path)
    schema = {c.name: (c.logical_type, c.nullable) for c in info.schema}
    assert schema["a"] == ("float", True) and schema["b"][1] is False and schema["t"] == ("datetime", True)
    assert list_datasets()[0].name == "events"


def test_unknown_names_and_versions_are_named(home: Path) -> None:
    register_dataset("known", pd.DataFrame({"x": [1]}))
    with pytest.raises(NotFoundError, match="no dataset named 'nope'; registered datasets: known"):
        get_dataset("nope")
    with pytest.raises(NotFoundError, match=r"'known' has no version 7; it has versions \[1\]"):
        load_dataset("known", 7)


@pytest.mark.parametrize(
    ("source", "kwargs", "error", "match"),
    [
        ("missing.csv", {}, NotFoundError, "data file 'missing.csv' does not exist"),
        ("bad.parquet", {}, ValidationError, "could not read .*bad.parquet' as parquet"),
        ("bad.parquet", {"format": "xls"}, ValidationError, "format 'xls' is not supported"),
        ("notes.txt", {}, ValidationError, "cannot tell the format of 'notes.txt'"),
        (None, {}, ValidationError, "exactly one of source"),
    ],
)
def test_bad_input_writes_nothing(home: Path, source, kwargs, error, match) -> None:
    Path("bad.parquet").write_text("this is not parquet")
    Path("notes.txt").write_text("hello")
    with pytest.raises(error, match=match):
        register_dataset("broken", source, **kwargs)
    assert list_datasets() == [] and "dataset.register" not in _audit_actions()
    assert not list((home / "artifacts").rglob("sha256/*/*"))


@pytest.mark.parametrize("name", ["", "1abc", "has-dash", "a b", "x" * 64, "drop;table"])
def test_invalid_names_are_refused(home: Path, name: str) -> None:
    with pytest.raises(ValidationError, match="is not allowed"):
        register_dataset(name, pd.DataFrame({"x": [1]}))


def test_corrupted_blob_is_detected_on_load(home: Path) -> None:
    info = register_dataset("small", pd.DataFrame({"x": [1, 2, 3]}))
    blob = next((home / "artifacts").rglob(info.sha256.split(":")[1]))
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.chmod(0o644)
    blob.write_bytes(bytes(data))
    with pytest.raises(ArtifactCorrupted):
        load_dataset("small")


def test_catalog_on_sqlite_and_postgres(any_home: Path) -> None:
    one = register_dataset("pg", pd.DataFrame({"x": [1, 2]}))
    two = register_dataset("pg", pd.DataFrame({"x": [1, 2, 3]}))
    assert (one.version, two.version) == (1, 2)
    assert register_dataset("pg", pd.DataFrame({"x": [1, 2]})).id == one.id
    assert [d.ref for d in list_datasets()] == ["pg@2"]


def test_frames_arrow_cannot_store_are_refused_before_writing(home: Path) -> None:
    with pytest.raises(ValidationError, match="make each column hold one type"):
        register_dataset("mixed", pd.DataFrame({"x": [1, "a", 2.5]}))
    with pytest.raises(ValidationError, match=r"repeated: \['x'\]"):
        register_dataset("dupes", pd.DataFrame([[1, 2]], columns=["x", "x"]))
    assert list_datasets() == []


@pytest.mark.slow
def test_catalog_on_s3_artifacts(home: Path, s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from loopml.config import reset_settings
    from loopml.core import context
    from loopml.data import sql

    monkeypatch.setenv("LOOPML_ARTIFACTS", s3_bucket)
    reset_settings()
    context.reset()
    info = register_dataset("remote", churn_frame())
    assert context.get_artifacts().url.startswith("s3://") and context.get_artifacts().exists(info.sha256)
    assert not (home / "artifacts").exists() or not list((home / "artifacts").rglob(info.sha256[7:]))
    assert load_dataset("remote").equals(churn_frame())
    assert sql("SELECT count(*) AS n FROM remote")["n"].tolist() == [200]
