"""RELIABILITY case 43: the pickle scan resolves dotted globals and names every dangerous one before loading,
however it is spelt (GLOBAL, STACK_GLOBAL, INST, memo tricks, marks, re-exports)."""

from __future__ import annotations

import json
import pickle
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loopml import models
from loopml.errors import UnsafeModelError
from loopml.models import safety
from loopml.models.manifest import sha256

STACK = {*models.SAFE_GLOBALS, "numpy.*", "pandas.*", "sklearn.*", "scipy.*"}


def _u(text: str) -> bytes:
    """SHORT_BINUNICODE ``text``."""
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def _call(*prefix: bytes, arg: str = "touch CANARY") -> bytes:
    """A protocol-4 stream: ``prefix`` leaves a callable on the stack, which is called with ``arg``."""
    return b"\x80\x04" + b"".join(prefix) + _u(arg) + b"\x85R."  # TUPLE1, REDUCE, STOP


def _stack_global(module: str, name: str) -> bytes:
    return _u(module) + _u(name) + b"\x93"


PAYLOADS = {
    "stack-global dotted name": _call(_stack_global("numpy.lib._datasource", "os.system")),
    "GLOBAL dotted name": b"\x80\x02cnumpy.lib._datasource\nos.system\n" + _u("id") + b"\x85R.",
    "INST dotted name": b"(" + b"S'id'\n" + b"inumpy.lib._datasource\nos.system\n.",
    "re-export through scipy": _call(_stack_global("scipy._lib._util", "os.system")),
    "re-export through sklearn": _call(_stack_global("sklearn._config", "os.system")),
    "memo": _call(_u("sklearn._config") + b"\x94" + _u("os.system") + b"\x94" + b"00"
                  + b"h\x00h\x01\x93"),  # MEMOIZE x2, POP x2, BINGET 0, BINGET 1, STACK_GLOBAL
    "mark and pop-mark": _call(_u("posix") + b"(" + _u("numpy") + _u("ndarray") + b"1" + _u("system") + b"\x93"),
    "dup": _call(_u("x") + b"0" + _u("builtins") + _u("eval") + b"2" + b"0" + b"\x93"),
    "long memo index": _call(_u("subprocess") + b"r" + struct.pack("<I", 7) + _u("getoutput") + b"\x94"
                             + b"0" + b"j" + struct.pack("<I", 7) + _u("getoutput") + b"\x93"),
    "file reader in the stack": _call(_stack_global("numpy", "load")),
    "method of an allowed class": _call(_stack_global("numpy", "ndarray.tofile")),
    "special attribute": _call(_stack_global("numpy", "__builtins__.eval")),
}
EXPECT = {
    "stack-global dotted name": r"numpy\.lib\._datasource\.os\.system' \(resolves to posix\.system\)",
    "GLOBAL dotted name": r"numpy\.lib\._datasource\.os\.system' \(resolves to posix\.system\)",
    "INST dotted name": r"numpy\.lib\._datasource\.os\.system",
    "re-export through scipy": r"scipy\._lib\._util\.os\.system' \(resolves to posix\.system\)",
    "re-export through sklearn": r"sklearn\._config\.os\.system' \(resolves to posix\.system\)",
    "memo": r"sklearn\._config\.os\.system",
    "mark and pop-mark": r"'posix\.system'",
    "dup": r"'builtins\.eval'",
    "long memo index": r"'subprocess\.getoutput'",
    "file reader in the stack": r"'numpy\.load'.*reads or writes files",
    "method of an allowed class": r"'numpy\.ndarray\.tofile'.*method",
    "special attribute": r"__builtins__",
}


@pytest.mark.parametrize("case", sorted(PAYLOADS))
def test_every_spelling_of_a_dangerous_global_is_named(case: str) -> None:
    with pytest.raises(UnsafeModelError, match=EXPECT[case]):
        models.scan_pickle(PAYLOADS[case], allowed=STACK)


def test_the_report_names_every_dangerous_global_not_only_the_first() -> None:
    data = b"\x80\x04" + _stack_global("numpy.lib._datasource", "os.system") + b"0" \
        + _stack_global("scipy._lib._util", "os.popen") + b"0" + _stack_global("numpy", "load") + b"0" \
        + _stack_global("numpy", "ndarray") + b"."
    report = safety.pickle_report(data, allowed=STACK)
    assert [g.spelt for g in report.refused] == ["numpy.lib._datasource.os.system", "scipy._lib._util.os.popen",
                                                 "numpy.load"]
    assert [g.resolves_to for g in report.refused] == ["posix.system", "os.popen", "numpy.load"]
    with pytest.raises(UnsafeModelError) as err:
        models.scan_pickle(data, allowed=STACK)
    assert all(name in err.value.message for name in ("os.system", "os.popen", "numpy.load"))
    assert len(err.value.globals) == 3


def test_a_re_export_from_the_models_own_package_is_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "evilpkg"
    package.mkdir()
    (package / "__init__.py").write_text("from os import system as run\nclass Model:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    data = _call(_stack_global("evilpkg", "run"))
    with pytest.raises(UnsafeModelError, match=r"'evilpkg\.run' \(resolves to posix\.system\)"):
        models.scan_pickle(data, allowed={*STACK, "evilpkg.*"})


def test_real_models_pickles_pass(numeric) -> None:  # noqa: ANN001
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline

    frame, label = numeric
    obj = {"pipe": Pipeline([("m", RandomForestClassifier(3, random_state=np.random.RandomState(0)))]).fit(
        frame, label), "frame": frame, "rng": np.random.default_rng(0), "series": frame["age"],
        "when": pd.Timestamp("2026-01-01")}
    found = models.scan_pickle(pickle.dumps(obj, protocol=5), allowed=STACK)
    assert "sklearn.pipeline.Pipeline" in found and "pandas.core.frame.DataFrame" in found


def test_a_trusted_pyfunc_with_a_dotted_global_never_runs(tmp_path: Path) -> None:
    canary = tmp_path / "CANARY"
    data = _call(_stack_global("numpy.lib._datasource", "os.system"), arg=f"touch {canary}")
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(data)
    doc = {"format_version": 1, "flavor": "pyfunc", "framework": {"name": "python", "version": "3"},
           "python_version": "3", "model_file": "model.pkl", "model_class": "numpy.Model", "signature": None,
           "output": {"type": "unknown"}, "files": {"model.pkl": sha256(data)}, "metadata": {}, "options": {}}
    doc["digest"] = models.folder_digest(doc)
    (folder / models.MANIFEST).write_text(json.dumps(doc))
    before = models.deserialization_count()
    with pytest.raises(UnsafeModelError, match=r"resolves to posix\.system"):
        models.load(folder, trust=True)
    assert not canary.exists() and models.deserialization_count() == before
