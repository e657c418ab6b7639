"""RELIABILITY case 42: ONNX external data stays inside the model — refused from every place a tensor can
live, and never resolved against the working directory, the home or /tmp."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from loopml import models
from loopml.errors import UnsafeModelError
from loopml.models import _onnx
from loopml.models.manifest import sha256
from tests.models.onnx_payloads import CANARY_BYTES, CANARY_VALUE, PLACES


@pytest.fixture
def canaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Canary files in the working directory, the home and /tmp; each maps to an external-data location."""
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(home))
    tmp_file = Path("/tmp") / f"loopml-canary-{uuid.uuid4().hex}.bin"
    for path in (work / "canary.bin", home / "canary.bin", tmp_file):
        path.write_bytes(CANARY_BYTES)
    yield {"cwd": "canary.bin", "cwd-dotdot": "../work/canary.bin", "home": str(home / "canary.bin"),
           "tmp": str(tmp_file), "tmp-relative": os.path.relpath(tmp_file, work)}
    tmp_file.unlink(missing_ok=True)


def forge(folder: Path, data: bytes) -> Path:
    """A folder with a self-consistent manifest around ONNX bytes, as a hand-made upload would have."""
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(data)
    doc = {"format_version": 1, "flavor": "onnx", "framework": {"name": "onnx", "version": "1"},
           "python_version": "3", "model_file": "model.onnx", "model_class": "onnx.ModelProto",
           "signature": {"inputs": [{"name": "X", "type": "float64", "nullable": False}]},
           "output": {"type": "regression"}, "files": {"model.onnx": sha256(data)}, "metadata": {},
           "options": {}}
    doc["digest"] = models.folder_digest(doc)
    (folder / models.MANIFEST).write_text(json.dumps(doc))
    return folder


@pytest.mark.parametrize("where", ["cwd", "cwd-dotdot", "home", "tmp", "tmp-relative"])
@pytest.mark.parametrize("place", sorted(PLACES))
def test_external_data_is_refused_at_save_and_load(tmp_path: Path, canaries: dict[str, str], place: str,
                                                    where: str) -> None:
    proto = PLACES[place](canaries[where])
    with pytest.raises(UnsafeModelError, match="external data"):
        models.save(proto, tmp_path / "saved")
    assert not (tmp_path / "saved").exists()
    folder = forge(tmp_path / "forged", proto.SerializeToString())
    before = models.deserialization_count()
    for trust in (False, True):
        with pytest.raises(UnsafeModelError, match=canaries[where].replace(".", r"\.")):
            models.load(folder, trust=trust)
    assert models.deserialization_count() == before


def test_unknown_fields_are_dropped_before_onnx_runtime_sees_the_model(tmp_path: Path) -> None:
    from tests.models.onnx_payloads import constant

    proto = constant("unused")
    del proto.graph.node[0].attribute[:]
    proto.graph.node[0].attribute.extend([_float_attribute()])
    data = proto.SerializeToString() + b"\xfa\x3f\x03abc"  # field 999, length-delimited: unknown to onnx
    checked = _onnx._checked_bytes(data)
    assert b"abc" not in checked and len(checked) < len(data)


def _float_attribute():  # noqa: ANN202
    from onnx import helper

    return helper.make_attribute("value", helper.make_tensor("c", 1, [1], [1.0]))


def test_onnx_runtime_resolves_nothing_outside_an_empty_folder_even_if_the_walk_missed_a_place(
        tmp_path: Path, canaries: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Defence in depth: with the check switched off, the session still cannot read the canary."""
    from tests.models.onnx_payloads import sparse_constant

    monkeypatch.setattr(_onnx, "refuse_external_data", lambda model: None)
    info = models.read_info(forge(tmp_path / "m", b"\x08\x01"))  # any verified manifest
    for where in ("cwd", "cwd-dotdot", "tmp-relative"):
        data = sparse_constant(canaries[where]).SerializeToString()
        try:
            served = _onnx.load(data, info, trust=False)
        except Exception as exc:  # noqa: BLE001 - ONNX Runtime refusing the file is the expected outcome
            assert "4242" not in str(exc)
            continue
        prediction = served.predict(_frame())
        assert CANARY_VALUE + 1 not in np.asarray(prediction).ravel()


def _frame():  # noqa: ANN202
    import pandas as pd

    return pd.DataFrame({"X": [1.0]})


def test_a_clean_model_still_loads_and_predicts(tmp_path: Path) -> None:
    from onnx import helper

    proto = helper.make_model(
        helper.make_graph([helper.make_node("Add", ["X", "k"], ["Y"])], "g", *_io_pair(),
                          [helper.make_tensor("k", 1, [1], [2.0])]),
        opset_imports=[helper.make_opsetid("", 17)])
    models.save(proto, tmp_path / "m", input_example=_frame())
    assert models.load(tmp_path / "m").predict(_frame()).tolist() == [3.0]


def _io_pair():  # noqa: ANN202
    from onnx import TensorProto, helper

    return ([helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 1])],
            [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 1])])
