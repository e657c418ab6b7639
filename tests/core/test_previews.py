"""Artifact previews: typed, bounded, hash-verified, opened by digest only."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from loopml.core import context, previews
from loopml.errors import ArtifactCorrupted, NotFoundError


def _put(data: bytes) -> str:
    return context.get_artifacts().put_bytes(data).sha256


def _file(path: str, data: bytes) -> previews.ArtifactFile:
    return previews.ArtifactFile(path, _put(data), len(data))


def test_each_kind_of_file_gets_its_preview(home, tmp_path):
    buf = io.BytesIO()
    pd.DataFrame({"x": range(120), "y": ["a"] * 120}).to_parquet(buf)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
    shown = {name: previews.preview(_file(name, data)) for name, data in {
        "t.parquet": buf.getvalue(), "r.json": json.dumps({"auc": 0.9}).encode(), "job.log": b"epoch 1 loss=0.3\n",
        "plot.png": png, "model.ubj": bytes(range(256))}.items()}
    assert shown["t.parquet"]["kind"] == "table" and shown["t.parquet"]["total_rows"] == 120
    assert len(shown["t.parquet"]["rows"]) == previews.MAX_ROWS and shown["t.parquet"]["columns"][0] == "x: int64"
    assert shown["r.json"] == {**shown["r.json"], "kind": "json", "json": {"auc": 0.9}}
    assert shown["job.log"]["kind"] == "text" and not shown["job.log"]["truncated"]
    assert shown["plot.png"]["kind"] == "image" and shown["plot.png"]["media_type"] == "image/png"
    assert shown["model.ubj"]["kind"] == "binary"


def test_long_text_is_cut_and_large_files_are_not_read(home):
    text = previews.preview(_file("a.txt", b"x" * (previews.MAX_TEXT + 10)))
    assert text["truncated"] and len(text["text"]) == previews.MAX_TEXT
    big = previews.ArtifactFile("big.bin", "sha256:" + "0" * 64, previews.MAX_READ + 1)
    assert previews.preview(big)["kind"] == "large"


def test_folders_become_their_files_and_only_named_digests_are_found(home, tmp_path):
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "model.json").write_text("{}")
    (folder / "sub" / "weights.bin").write_bytes(b"\x00\x01")
    ref = context.get_artifacts().put_dir(folder)
    files = previews.expand({"model": ref.sha256, "missing": None, "gone": "sha256:" + "1" * 64})
    assert [f.path for f in files] == ["model/model.json", "model/sub/weights.bin"]
    with pytest.raises(NotFoundError, match="has no artifact"):
        previews.find(files, ref.sha256, owner="run r")  # the folder's manifest itself is not one of its files


def test_a_corrupted_file_is_reported_not_previewed(home):
    item = _file("a.txt", b"hello")
    blob = next(p for p in (home / "artifacts").rglob("*") if p.is_file() and p.name == item.digest[7:])
    blob.write_bytes(b"HELLO")
    with pytest.raises(ArtifactCorrupted):
        previews.preview(item)
