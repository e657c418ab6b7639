"""Saving and loading each flavor: identical predictions, signature checks, tampering, unsafe names."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from loopml import models
from loopml.errors import ArtifactCorrupted, ConflictError, UnsafeModelError, ValidationError

LOADS = {"count": 0}


class Doubler:
    """A pyfunc model; unpickling it is counted so tests can prove it never happened."""

    def __init__(self, factor: float = 2.0) -> None:
        self.factor = factor

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return frame["income"].to_numpy() * self.factor

    def __setstate__(self, state: dict) -> None:
        LOADS["count"] += 1
        self.__dict__.update(state)


def _pipeline(frame: pd.DataFrame, label: pd.Series) -> Pipeline:
    columns = ColumnTransformer([("num", StandardScaler(), ["age", "income"]),
                                 ("cat", OneHotEncoder(handle_unknown="ignore"), ["city", "member"])])
    return Pipeline([("columns", columns), ("model", LogisticRegression())]).fit(frame, label)


def test_sklearn_pipeline_round_trips_with_identical_probabilities(tmp_path: Path, mixed) -> None:
    frame, label = mixed
    pipe = _pipeline(frame, label)
    info = models.save(pipe, tmp_path / "m", input_example=frame)
    loaded = models.load(tmp_path / "m")
    assert (info.flavor, loaded.flavor, loaded.digest) == ("sklearn", "sklearn", info.digest)
    assert np.array_equal(loaded.predict(frame), pipe.predict(frame))
    assert np.array_equal(loaded.predict_proba(frame), pipe.predict_proba(frame))
    assert loaded.classes_.tolist() == [0, 1]
    assert [c.type for c in loaded.signature.inputs] == ["int64", "float64", "string", "bool"]


def test_manifest_records_versions_files_and_output(tmp_path: Path, mixed) -> None:
    frame, label = mixed
    models.save(_pipeline(frame, label), tmp_path / "m", input_example=frame, metadata={"team": "risk"})
    doc = json.loads((tmp_path / "m" / models.MANIFEST).read_text())
    assert doc["format_version"] == 1 and doc["framework"]["name"] == "scikit-learn"
    assert doc["python_version"].count(".") == 2
    assert set(doc["files"]) == {"model.skops", "input_example.json"}
    assert all(v.startswith("sha256:") for v in doc["files"].values())
    assert doc["output"] == {"type": "classification", "classes": [0, 1]}
    assert doc["digest"] == models.folder_digest(doc) and doc["metadata"] == {"team": "risk"}


def test_xgboost_classifier_keeps_wrapper_and_predict_proba(tmp_path: Path, numeric) -> None:
    xgboost = pytest.importorskip("xgboost")
    frame, label = numeric
    model = xgboost.XGBClassifier(n_estimators=5, max_depth=2).fit(frame, label)
    info = models.save(model, tmp_path / "m", input_example=frame)
    loaded = models.load(tmp_path / "m")
    assert info.model_file == "model.ubj" and info.options["wrapper"] == "XGBClassifier"
    assert np.array_equal(loaded.predict_proba(frame), model.predict_proba(frame))
    assert np.array_equal(loaded.predict(frame), model.predict(frame))


def test_xgboost_regressor_and_booster_round_trip(tmp_path: Path, numeric) -> None:
    xgboost = pytest.importorskip("xgboost")
    frame, label = numeric
    reg = xgboost.XGBRegressor(n_estimators=5).fit(frame, label)
    models.save(reg, tmp_path / "reg", input_example=frame)
    assert not hasattr(models.load(tmp_path / "reg"), "predict_proba")
    assert np.array_equal(models.load(tmp_path / "reg").predict(frame), reg.predict(frame))
    booster = reg.get_booster()
    models.save(booster, tmp_path / "booster", input_example=frame)
    expected = booster.predict(xgboost.DMatrix(frame))
    assert np.array_equal(models.load(tmp_path / "booster").predict(frame), expected)


def test_lightgbm_classifier_round_trips(tmp_path: Path, numeric) -> None:
    lightgbm = pytest.importorskip("lightgbm")
    frame, label = numeric
    model = lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(frame, label)
    info = models.save(model, tmp_path / "m", input_example=frame)
    loaded = models.load(tmp_path / "m")
    assert info.model_file == "model.txt" and loaded.classes_.tolist() == [0, 1]
    assert np.allclose(loaded.predict_proba(frame), model.predict_proba(frame), rtol=0, atol=1e-12)
    assert np.array_equal(loaded.predict(frame), model.predict(frame))


def test_onnx_round_trips_through_onnxruntime(tmp_path: Path, numeric) -> None:
    skl2onnx = pytest.importorskip("skl2onnx")
    import onnxruntime

    frame, label = numeric
    clf = LogisticRegression().fit(frame, label)
    onx = skl2onnx.to_onnx(clf, frame.to_numpy(np.float32)[:1], options={id(clf): {"zipmap": False}})
    models.save(onx, tmp_path / "m", input_example=frame)
    loaded = models.load(tmp_path / "m")
    session = onnxruntime.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    labels, proba = session.run(None, {"X": frame.to_numpy(np.float32)})
    assert np.array_equal(loaded.predict(frame), labels) and np.array_equal(loaded.predict_proba(frame), proba)


def test_pyfunc_needs_trust(tmp_path: Path, numeric) -> None:
    frame, _ = numeric
    info = models.save(Doubler(3.0), tmp_path / "m", input_example=frame)
    before = LOADS["count"]
    with pytest.raises(UnsafeModelError, match="pickle.*trust=True"):
        models.load(tmp_path / "m")
    assert LOADS["count"] == before and info.flavor == "pyfunc"
    loaded = models.load(tmp_path / "m", trust=True)
    assert np.array_equal(loaded.predict(frame), frame["income"].to_numpy() * 3.0)


def test_signature_that_does_not_match_the_model_is_refused(tmp_path: Path, mixed, numeric) -> None:
    frame, label = mixed
    with pytest.raises(ValidationError, match="do not match the columns the model was fitted on"):
        models.save(_pipeline(frame, label), tmp_path / "a", input_example=frame.assign(extra=1))
    num, y = numeric
    plain = LinearRegression().fit(num.to_numpy(), y)
    with pytest.raises(ValidationError, match="fitted on 2 features"):
        models.save(plain, tmp_path / "b", signature=frame)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_signature_columns_follow_the_model_order(tmp_path: Path, numeric) -> None:
    frame, label = numeric
    model = LinearRegression().fit(frame, label)
    info = models.save(model, tmp_path / "m", input_example=frame[["income", "age"]])
    assert info.signature.names == ["age", "income"]
    loaded = models.load(tmp_path / "m")
    assert np.allclose(loaded.predict(frame[["income", "age"]]), model.predict(frame))


@pytest.mark.parametrize("damage", ["flip", "truncate", "append"])
def test_tampered_file_is_refused_before_deserialising(tmp_path: Path, numeric, damage: str) -> None:
    frame, _ = numeric
    models.save(Doubler(), tmp_path / "m", input_example=frame)
    path = tmp_path / "m" / "model.pkl"
    data = path.read_bytes()
    path.write_bytes({"flip": data[:-3] + bytes([data[-3] ^ 1]) + data[-2:], "truncate": data[:-1],
                      "append": data + b"\x00"}[damage])
    before, loads = models.deserialization_count(), LOADS["count"]
    with pytest.raises(ArtifactCorrupted, match="'model.pkl'"):
        models.load(tmp_path / "m", trust=True)
    assert models.deserialization_count() == before and LOADS["count"] == loads


def test_edited_manifest_is_refused(tmp_path: Path, numeric) -> None:
    frame, label = numeric
    models.save(LinearRegression().fit(frame, label), tmp_path / "m", input_example=frame)
    manifest = tmp_path / "m" / models.MANIFEST
    doc = json.loads(manifest.read_text())
    doc["signature"]["inputs"][0]["nullable"] = True
    manifest.write_text(json.dumps(doc))
    with pytest.raises(ArtifactCorrupted, match="manifest was edited"):
        models.load(tmp_path / "m")


def test_expected_digest_must_match(tmp_path: Path, numeric) -> None:
    frame, label = numeric
    info = models.save(LinearRegression().fit(frame, label), tmp_path / "m")
    assert models.load(tmp_path / "m", expected_digest=info.digest).digest == info.digest
    with pytest.raises(ArtifactCorrupted, match="was expected"):
        models.load(tmp_path / "m", expected_digest="sha256:" + "0" * 64)


def _forge(folder: Path, files: dict[str, bytes], *, flavor: str, model_file: str) -> None:
    """Write a folder whose manifest is self-consistent, as an attacker uploading a folder would."""
    folder.mkdir(parents=True, exist_ok=True)
    digests = {}
    for name, data in files.items():
        (folder / name).write_bytes(data)
        digests[name] = models.manifest.sha256(data)
    doc = {"format_version": 1, "flavor": flavor, "framework": {"name": "x", "version": "1"},
           "python_version": "3", "model_file": model_file, "model_class": "x.X", "signature": None,
           "output": {"type": "unknown"}, "files": digests, "metadata": {}, "options": {}}
    doc["digest"] = models.folder_digest(doc)
    (folder / models.MANIFEST).write_text(json.dumps(doc))


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "a/../x", "a//b", "a/", "./x", "..", ".hidden", "a/.git",
                                  "a\\..\\b", "%2e%2e%2fx", "/".join(["a"] * 9)])
def test_manifest_file_names_outside_the_folder_are_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / "x").write_bytes(b"tree\n")
    folder = tmp_path / "m"
    folder.mkdir()
    doc = {"format_version": 1, "flavor": "lightgbm", "framework": {}, "model_file": name,
           "files": {name: models.manifest.sha256(b"tree\n")}}
    doc["digest"] = models.folder_digest(doc)
    (folder / models.MANIFEST).write_text(json.dumps(doc))
    with pytest.raises(ValidationError, match="is not allowed"):
        models.load(folder)


def test_symlinked_model_file_is_refused(tmp_path: Path, numeric) -> None:
    frame, label = numeric
    models.save(LinearRegression().fit(frame, label), tmp_path / "good")
    data = (tmp_path / "good" / "model.skops").read_bytes()
    (tmp_path / "outside.skops").write_bytes(data)
    _forge(tmp_path / "m", {"model.skops": data}, flavor="sklearn", model_file="model.skops")
    (tmp_path / "m" / "model.skops").unlink()
    os.symlink(tmp_path / "outside.skops", tmp_path / "m" / "model.skops")
    with pytest.raises(ValidationError, match="not a regular file"):
        models.load(tmp_path / "m")


def test_save_refuses_a_non_empty_target_and_accepts_an_empty_one(tmp_path: Path, numeric) -> None:
    frame, label = numeric
    model = LinearRegression().fit(frame, label)
    (tmp_path / "empty").mkdir()
    assert models.save(model, tmp_path / "empty").flavor == "sklearn"
    with pytest.raises(ConflictError, match="not an empty folder"):
        models.save(model, tmp_path / "empty")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


def test_unsupported_objects_and_bad_metadata_are_refused(tmp_path: Path, numeric) -> None:
    frame, label = numeric
    with pytest.raises(ValidationError, match="flavor='pyfunc'"):
        models.save(object(), tmp_path / "a")
    with pytest.raises(ValidationError, match="JSON"):
        models.save(LinearRegression().fit(frame, label), tmp_path / "b", metadata={"x": float("nan")})
    with pytest.raises(ValidationError, match="cannot save"):
        models.save(Doubler(), tmp_path / "c", flavor="sklearn")


def test_read_info_describes_without_loading(tmp_path: Path, numeric) -> None:
    frame, label = numeric
    saved = models.save(LinearRegression().fit(frame, label), tmp_path / "m", input_example=frame)
    before = models.deserialization_count()
    info = models.read_info(tmp_path / "m")
    assert info == saved and info.output.type == "regression"
    assert models.deserialization_count() == before


def test_numeric_models_get_an_implied_signature_but_pipelines_do_not(tmp_path: Path, mixed, numeric) -> None:
    frame, label = numeric
    info = models.save(LinearRegression().fit(frame, label), tmp_path / "lin")
    assert info.signature.to_dict()["inputs"] == [{"name": "age", "type": "float64", "nullable": False},
                                                  {"name": "income", "type": "float64", "nullable": False}]
    lightgbm = pytest.importorskip("lightgbm")
    booster = models.save(lightgbm.LGBMRegressor(n_estimators=3, verbose=-1).fit(frame, label), tmp_path / "lgb")
    assert booster.signature.names == ["age", "income"] and booster.signature.inputs[0].nullable
    mixed_frame, mixed_label = mixed
    assert models.save(_pipeline(mixed_frame, mixed_label), tmp_path / "pipe").signature is None


def test_xgboost_categorical_model_accepts_strings_for_category_columns(tmp_path: Path) -> None:
    xgboost = pytest.importorskip("xgboost")
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=300), "tier": pd.Categorical(rng.choice(["a", "b", "c"], 300))})
    label = ((frame["x"] > 0) ^ (frame["tier"] == "b")).astype(int)
    model = xgboost.XGBClassifier(n_estimators=5, enable_categorical=True).fit(frame, label)
    models.save(model, tmp_path / "m", input_example=frame)
    loaded = models.load(tmp_path / "m")
    as_strings = frame.assign(tier=frame["tier"].astype(str))
    assert np.array_equal(loaded.predict_proba(as_strings), model.predict_proba(frame))
    with pytest.raises(ValidationError, match="unknown categories \\['z'\\]"):
        loaded.predict(as_strings.assign(tier="z"))


def test_a_recipe_and_xgboost_pipeline_saves_and_loads_without_trust(tmp_path: Path, mixed) -> None:
    from sklearn.pipeline import Pipeline
    from xgboost import XGBClassifier

    from loopml.data import Recipe

    frame, label = mixed
    recipe = Recipe([{"op": "impute", "columns": ["income"], "strategy": "median"},
                     {"op": "log", "columns": ["income"]}, {"op": "onehot", "columns": ["city"]},
                     {"op": "cast", "types": {"member": "float"}}]).fit(frame)
    pipe = Pipeline([("recipe", recipe.pipeline), ("xgb", XGBClassifier(n_estimators=5))]).fit(frame, label)
    models.save(pipe, tmp_path / "m", input_example=frame)
    assert models.check(tmp_path / "m")[1] is False
    loaded = models.load(tmp_path / "m")
    assert np.array_equal(loaded.predict_proba(frame), pipe.predict_proba(frame))


class OwnScaler(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):  # noqa: ANN001, ANN201
        return self

    def transform(self, X):  # noqa: ANN001, ANN201
        return X * 2


def test_a_type_outside_the_trusted_list_is_refused_at_save_not_at_load(tmp_path: Path, numeric) -> None:
    from sklearn.pipeline import Pipeline

    frame, label = numeric
    pipe = Pipeline([("own", OwnScaler()), ("m", LogisticRegression())]).fit(frame, label)
    with pytest.raises(UnsafeModelError, match=r"OwnScaler.*flavor='pyfunc'"):
        models.save(pipe, tmp_path / "m", input_example=frame)
    assert not (tmp_path / "m").exists()
