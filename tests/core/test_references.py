"""Every table is either a reference provider's or declared blob-free; reachability follows folders and JSON."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from loopml.core import context
from loopml.core._reachability import walk
from loopml.core.db import metadata
from loopml.core.references import (
    BYTES,
    FOLDER,
    JSON,
    NO_REFERENCES,
    PROVIDERS,
    UNKNOWN,
    Reference,
    collect,
    load_provider,
    mentions,
)

STAGES = ("core", "data", "features", "train", "registry", "pipelines", "serve", "monitor", "events")


def _all_tables() -> dict[str, sa.Table]:
    for stage in STAGES:
        importlib.import_module(f"loopml.{stage}._tables")
    return dict(metadata.tables)


def _digest_like(column: sa.Column) -> bool:
    name = column.name.lower()
    length = getattr(column.type, "length", None)
    return "digest" in name or "sha256" in name or length == 71 or isinstance(column.type, sa.JSON)


def test_every_table_has_a_provider_or_a_reason_it_names_no_blob() -> None:
    tables = _all_tables()
    undecided = sorted(set(tables) - set(PROVIDERS) - set(NO_REFERENCES))
    assert not undecided, f"add a reference provider (core/references.py PROVIDERS) for {undecided}"
    assert not set(PROVIDERS) & set(NO_REFERENCES)
    assert not (set(PROVIDERS) | set(NO_REFERENCES)) - set(tables), "a listed table no longer exists"


def test_a_table_with_a_digest_like_column_is_never_declared_blob_free() -> None:
    tables = _all_tables()
    wrong = {name: [c.name for c in tables[name].columns if _digest_like(c)] for name in NO_REFERENCES}
    assert {name: cols for name, cols in wrong.items() if cols} == {}


def test_every_provider_loads_and_runs_on_an_empty_home(home: Path) -> None:
    for table in PROVIDERS:
        assert callable(load_provider(table))
    with context.get_db().read() as conn:
        assert collect(conn) == []


def test_mentions_finds_digests_anywhere_in_a_json_value() -> None:
    a, b = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    value = {"recipe": a, "nested": [{"x": f"cas:{b}"}], a: 1, "n": 3, "short": "sha256:abc"}
    found = list(mentions(value, "model m:1"))
    assert sorted({r.digest for r in found}) == [a, b]
    assert all(not r.required and r.kind == UNKNOWN and r.owner == "model m:1" for r in found)


def _reach(refs: list[Reference]):  # noqa: ANN202
    store = context.get_artifacts()
    return walk(store, refs, dict(store.digests()))


def test_folders_json_documents_and_sniffed_folders_are_followed(home: Path, tmp_path: Path) -> None:
    store = context.get_artifacts()
    folder = tmp_path / "m"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "weights.bin").write_bytes(b"w" * 100)
    manifest = store.put_dir(folder)
    weights = store.read_manifest(manifest)["files"][0]["sha256"]
    html = store.put_bytes(b"<html>report</html>")
    report = store.put_bytes(json.dumps({"html": html.sha256}).encode())
    reach = _reach([Reference(manifest.sha256, "model m:1", FOLDER), Reference(report.sha256, "report", JSON)])
    assert {weights, html.sha256, manifest.sha256, report.sha256} <= set(reach.holders)
    assert reach.holders[weights][0].describe() == "model m:1 file sub/weights.bin"
    sniffed = _reach([Reference(manifest.sha256, "step output", UNKNOWN)])
    assert weights in sniffed.holders
    plain = _reach([Reference(manifest.sha256, "bytes", BYTES)])
    assert weights not in plain.holders


def test_an_unreadable_folder_manifest_is_reported_not_guessed(home: Path, tmp_path: Path) -> None:
    store = context.get_artifacts()
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "f").write_bytes(b"x")
    manifest = store.put_dir(tmp_path / "m")
    key = f"sha256/{manifest.sha256[7:9]}/{manifest.sha256[7:]}"
    bad = tmp_path / "bad"
    bad.write_bytes(store.get_bytes(manifest).replace(b'"path"', b'"paTh"'))
    store.blobs.put_file(bad, key)
    reach = _reach([Reference(manifest.sha256, "model m:1", FOLDER)])
    assert [str(f) for f in reach.unreadable] == [f"model m:1: {manifest.sha256} corrupted (a folder manifest)"]
    missing = _reach([Reference("sha256:" + "c" * 64, "model m:2", FOLDER)])
    assert len(missing.unreadable) == 1
    optional = _reach([Reference("sha256:" + "c" * 64, "event 3", FOLDER, required=False)])
    assert optional.unreadable == []


@pytest.mark.parametrize("table", sorted(PROVIDERS))
def test_provider_modules_belong_to_the_stage_that_owns_the_table(table: str) -> None:
    module = PROVIDERS[table].partition(":")[0]
    owner = next(s for s in STAGES if table in _tables_of(s))
    assert module.startswith(f"loopml.{owner}."), f"{table} belongs to {owner}, provider is {module}"


def _tables_of(stage: str) -> set[str]:
    mod = importlib.import_module(f"loopml.{stage}._tables")
    return {v.name for v in vars(mod).values() if isinstance(v, sa.Table)}
