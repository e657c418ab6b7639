"""RELIABILITY.md case 36: unsafe model payloads are refused and never run; sniffing, scanning, sandbox env."""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loopml import models
from loopml.errors import UnsafeModelError, ValidationError
from loopml.models.manifest import sha256


class Evil:
    """Unpickling runs ``touch <canary>``."""

    def __init__(self, canary: Path) -> None:
        self.canary = canary

    def __reduce__(self):
        return (os.system, (f"touch {self.canary}",))


class EvilState:
    """A skops object whose ``__setstate__`` would create the canary."""

    canary = ""

    def __setstate__(self, state: dict) -> None:
        Path(state["canary"]).touch()


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "CANARY"
    path.parent.mkdir()
    return path


def _forge(folder: Path, data: bytes, *, flavor: str, model_file: str) -> Path:
    """A folder with a self-consistent manifest around ``data``, as an attacker would upload."""
    folder.mkdir(parents=True)
    (folder / model_file).write_bytes(data)
    doc = {"format_version": 1, "flavor": flavor, "framework": {"name": "x", "version": "1"},
           "python_version": "3", "model_file": model_file, "model_class": "tests.models.X",
           "signature": None, "output": {"type": "unknown"}, "files": {model_file: sha256(data)},
           "metadata": {}, "options": {}}
    doc["digest"] = models.folder_digest(doc)
    (folder / models.MANIFEST).write_text(json.dumps(doc))
    return folder


def _payloads(canary: Path, tmp_path: Path) -> dict[str, bytes]:
    import joblib

    raw = pickle.dumps(Evil(canary), protocol=4)
    joblib.dump(Evil(canary), tmp_path / "j.joblib", compress=3)
    joblib.dump(Evil(canary), tmp_path / "p.joblib")
    pt = io.BytesIO()
    with zipfile.ZipFile(pt, "w") as zf:
        zf.writestr("archive/data.pkl", raw)
        zf.writestr("archive/version", "3\n")
    return {"pickle": raw, "pickle-proto0": pickle.dumps(Evil(canary), protocol=0),
            "joblib-compressed": (tmp_path / "j.joblib").read_bytes(),
            "joblib-plain": (tmp_path / "p.joblib").read_bytes(), "pt-zip": pt.getvalue()}


@pytest.mark.parametrize("kind", ["pickle", "pickle-proto0", "joblib-compressed", "joblib-plain", "pt-zip"])
@pytest.mark.parametrize("flavor,model_file", [("sklearn", "model.skops"), ("xgboost", "model.ubj"),
                                               ("lightgbm", "model.txt"), ("onnx", "model.onnx")])
def test_pickle_family_payloads_are_refused_under_every_flavor(tmp_path: Path, canary: Path, kind: str,
                                                                flavor: str, model_file: str) -> None:
    data = _payloads(canary, tmp_path)[kind]
    folder = _forge(tmp_path / "m", data, flavor=flavor, model_file=model_file)
    before = models.deserialization_count()
    for trust in (False, True):
        with pytest.raises(UnsafeModelError, match="refused"):
            models.load(folder, trust=trust)
    assert models.deserialization_count() == before and not canary.exists()


def test_malicious_pyfunc_pickle_is_refused_even_with_trust(tmp_path: Path, canary: Path) -> None:
    folder = _forge(tmp_path / "m", pickle.dumps(Evil(canary)), flavor="pyfunc", model_file="model.pkl")
    with pytest.raises(UnsafeModelError, match="trust=True"):
        models.load(folder)
    with pytest.raises(UnsafeModelError, match="'posix.system'|'nt.system'"):
        models.load(folder, trust=True)
    assert not canary.exists()


def test_skops_file_with_untrusted_type_is_refused_naming_it(tmp_path: Path, canary: Path) -> None:
    import skops.io

    obj = EvilState()
    obj.canary = str(canary)
    folder = _forge(tmp_path / "m", skops.io.dumps(obj), flavor="sklearn", model_file="model.skops")
    with pytest.raises(UnsafeModelError, match=r"EvilState.*trust=True only if you built"):
        models.load(folder)
    assert not canary.exists() and models.detect_format((folder / "model.skops").read_bytes()) == "skops"


def test_skops_function_reference_is_refused(tmp_path: Path) -> None:
    import skops.io
    from sklearn.preprocessing import FunctionTransformer

    data = skops.io.dumps(FunctionTransformer(func=os.system))
    folder = _forge(tmp_path / "m", data, flavor="sklearn", model_file="model.skops")
    with pytest.raises(UnsafeModelError, match="system"):
        models.load(folder)


def _onnx_with_external_data(tmp_path: Path, location: str) -> bytes:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((1, 2), np.float32), name="W")
    graph = helper.make_graph([helper.make_node("Add", ["X", "W"], ["Y"])], "g",
                              [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 2])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 2])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.external_data_helper.convert_model_to_external_data(model, location=location, size_threshold=0)
    return model.SerializeToString()


@pytest.mark.parametrize("location", ["weights.bin", "../outside/CANARY"])
def test_onnx_with_external_data_is_refused(tmp_path: Path, canary: Path, location: str) -> None:
    import onnx

    canary.write_bytes(b"\x00" * 8)
    data = _onnx_with_external_data(tmp_path, location)
    folder = _forge(tmp_path / "m", data, flavor="onnx", model_file="model.onnx")
    before = models.deserialization_count()
    with pytest.raises(UnsafeModelError, match="external data"):
        models.load(folder, trust=True)
    assert models.deserialization_count() == before
    with pytest.raises(UnsafeModelError, match="single-file"):
        models.save(onnx.load_model_from_string(data), tmp_path / "again")


def test_wrong_format_for_the_flavor_is_a_validation_error(tmp_path: Path) -> None:
    folder = _forge(tmp_path / "m", b"tree\nversion=v4\n", flavor="sklearn", model_file="model.skops")
    with pytest.raises(ValidationError, match="holds lightgbm-txt data"):
        models.load(folder)


@pytest.mark.parametrize("data,expected", [
    (b"\x80\x05K\x01.", "pickle"), (b"x\x9c+I-.\x01\x00", "compressed"), (b"\x1f\x8b\x08\x00", "compressed"),
    (b"\x89HDF\r\n\x1a\n", "hdf5"), (b"\x93NUMPY\x01\x00", "npy"), (b"tree\nversion=v4", "lightgbm-txt"),
    (b'{"learner": {}}', "xgboost-json"), (b"{L\x00\x00\x00\x00\x00\x00\x00\x07learner{", "xgboost-ubj"),
    (b"\x0d\x00\x00\x00\x00\x00\x00\x00{\"a\": {}}    ", "safetensors"), (b"hello", "unknown"),
    (b"cos\nsystem\n(S'id'\ntR.", "pickle"),
])
def test_detect_format_reads_bytes_not_extensions(data: bytes, expected: str) -> None:
    assert models.detect_format(data) == expected


def test_scan_pickle_allows_numpy_and_refuses_code() -> None:
    import numpy as np

    found = models.scan_pickle(pickle.dumps({"w": np.arange(3)}))
    assert "numpy.ndarray" in found
    with pytest.raises(UnsafeModelError, match="builtins.eval"):
        models.scan_pickle(b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x8c\x04eval\x93.")
    with pytest.raises(UnsafeModelError, match="not on the allowlist"):
        models.scan_pickle(pickle.dumps(Evil(Path("x"))), allowed={"os.*"})
    with pytest.raises(UnsafeModelError, match="malformed"):
        models.scan_pickle(b"\x80\x05\xff")


def test_sandbox_env_drops_credentials() -> None:
    env = {"PATH": "/usr/bin", "HOME": "/home/a", "AWS_SECRET_ACCESS_KEY": "s", "AWS_PROFILE": "p",
           "GITHUB_TOKEN": "t", "DB_PASSWORD": "p", "MY_SECRET_X": "s", "LOOPML_DB": "postgresql://db",
           "DATABASE_URL": "postgresql://db", "OPENAI_API_KEY": "k", "PGPASSWORD": "p",
           "PROXY": "http://user:pw@proxy:3128", "LOOPML_HOME": "/srv/loopml", "LANG": "C.UTF-8"}
    assert models.sandbox_env(env) == {"PATH": "/usr/bin", "HOME": "/home/a", "LOOPML_HOME": "/srv/loopml",
                                       "LANG": "C.UTF-8"}


@pytest.mark.slow
def test_a_sandboxed_subprocess_sees_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "leak")
    monkeypatch.setenv("LOOPML_DB", "postgresql+psycopg://u:pw@db/loopml")
    out = subprocess.run([sys.executable, "-c", "import os, json; print(json.dumps(dict(os.environ)))"],
                         env=models.sandbox_env(), capture_output=True, text=True, check=True).stdout
    seen = json.loads(out)
    assert "AWS_SECRET_ACCESS_KEY" not in seen and "LOOPML_DB" not in seen and "leak" not in out


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=256))
def test_sniffing_and_scanning_never_crash_on_arbitrary_bytes(data: bytes) -> None:
    assert isinstance(models.detect_format(data), str)
    try:
        models.scan_pickle(data)
    except UnsafeModelError:
        pass
