"""What register takes in: no links, special or unlisted files (docs/models.md); code only with trust_code;
everything load would refuse is refused at register (RELIABILITY 36, 42, 43); evaluation reports by digest."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest
import sqlalchemy as sa

from loopml import models, registry
from loopml.core import context
from loopml.errors import UnsafeModelError, ValidationError
from tests.registry.conftest import tiny_model

SECRET = b"CANARY-SECRET-7f3a9c"


def _versions() -> int:
    with context.get_db().read() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM model_versions")).scalar()


def _stored_bytes() -> list[bytes]:
    return [context.get_artifacts().get_bytes(d) for d, _ in context.get_artifacts().digests()]


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    model, frame = tiny_model()
    models.save(model, tmp_path / "m", input_example=frame)
    return tmp_path / "m"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_bytes(SECRET)
    return folder


def _symlinked_folder(saved: Path, outside: Path) -> None:
    os.symlink(outside, saved / "extra")


def _symlinked_file(saved: Path, outside: Path) -> None:
    os.symlink(outside / "secret.txt", saved / "notes.txt")


def _hard_link(saved: Path, outside: Path) -> None:
    os.link(outside / "secret.txt", saved / "notes.txt")


def _fifo(saved: Path, outside: Path) -> None:
    os.mkfifo(saved / "pipe")


def _stray(saved: Path, outside: Path) -> None:
    (saved / "notes.txt").write_bytes(SECRET)


@pytest.mark.parametrize("plant,expected", [
    (_symlinked_folder, "extra is a symbolic link"), (_symlinked_file, "notes.txt is a symbolic link"),
    (_hard_link, "notes.txt is hard-linked"), (_fifo, "pipe is not a regular file"),
    (_stray, "does not list: \\['notes.txt'\\]"),
])
def test_links_special_and_unlisted_files_are_refused_before_anything_is_copied(
        roles: Path, saved: Path, outside: Path, plant, expected: str) -> None:  # noqa: ANN001
    plant(saved, outside)
    with pytest.raises(ValidationError, match=expected):
        registry.register(saved, "churn")
    assert _versions() == 0 and not any(SECRET in data for data in _stored_bytes())


def test_a_symlinked_model_folder_itself_is_refused(roles: Path, saved: Path, tmp_path: Path) -> None:
    os.symlink(saved, tmp_path / "link")
    with pytest.raises(ValidationError, match="is not a model folder"):
        registry.register(tmp_path / "link", "churn")


def test_a_clean_folder_registers_with_exactly_its_files(roles: Path, saved: Path, tmp_path: Path) -> None:
    version = registry.register(saved, "churn")
    fetched = registry.fetch_model(version, tmp_path / "back")
    assert sorted(p.name for p in fetched.iterdir()) == sorted(p.name for p in saved.iterdir())
    assert version.trusted_by is None and not version.runs_code


class Tripled:
    def predict(self, frame):  # noqa: ANN001, ANN201
        return frame["a"].to_numpy() * 3


def test_code_needs_trust_code_at_register_and_records_who_vouched(roles: Path, tmp_path: Path) -> None:
    _, frame = tiny_model()
    models.save(Tripled(), tmp_path / "p", input_example=frame)
    with pytest.raises(UnsafeModelError, match="refused to register.*pass trust_code=True"):
        registry.register(tmp_path / "p", "code")
    assert _versions() == 0
    version = registry.register(tmp_path / "p", "code", trust_code=True)
    assert version.trusted_by == "alice" and version.runs_code
    assert registry.card("code", 1)["model"]["trusted_by"] == "alice"
    assert "vouched for by alice" in registry.render_card(registry.card("code", 1))


def _forge(folder: Path, data: bytes, *, flavor: str, model_file: str, model_class: str = "numpy.X",
           signature: dict | None = None) -> Path:
    folder.mkdir()
    (folder / model_file).write_bytes(data)
    doc = {"format_version": 1, "flavor": flavor, "framework": {"name": "x", "version": "1"},
           "python_version": "3", "model_file": model_file, "model_class": model_class, "signature": signature,
           "output": {"type": "unknown"}, "files": {model_file: models.manifest.sha256(data)}, "metadata": {},
           "options": {}}
    doc["digest"] = models.folder_digest(doc)
    (folder / models.MANIFEST).write_text(json.dumps(doc))
    return folder


def test_a_dangerous_pickle_is_refused_at_register_even_with_trust_code(roles: Path, tmp_path: Path) -> None:
    data = (b"\x80\x04\x8c\x15numpy.lib._datasource\x8c\tos.system\x93\x8c\x02id\x85R.")
    folder = _forge(tmp_path / "p", data, flavor="pyfunc", model_file="model.pkl")
    before = models.deserialization_count()
    with pytest.raises(UnsafeModelError, match=r"numpy\.lib\._datasource\.os\.system' \(resolves to posix\.system"):
        registry.register(folder, "code", trust_code=True)
    assert _versions() == 0 and models.deserialization_count() == before


def test_onnx_external_data_is_refused_at_register(roles: Path, tmp_path: Path) -> None:
    from tests.models.onnx_payloads import PLACES

    (tmp_path / "canary.bin").write_bytes(SECRET)
    for i, build in enumerate(PLACES.values()):
        folder = _forge(tmp_path / f"o{i}", build("canary.bin").SerializeToString(), flavor="onnx",
                        model_file="model.onnx")
        with pytest.raises(UnsafeModelError, match="external data"):
            registry.register(folder, "onnx", trust_code=True)
    assert _versions() == 0


def test_evaluation_digest_must_name_a_stored_evaluation_report(roles: Path, model) -> None:  # noqa: ANN001
    other = context.get_artifacts().put_bytes(json.dumps({"metrics": {"auc": 1.0}}).encode()).sha256
    for bad, expected in (("not-a-digest", "not an artifact digest"), ("sha256:" + "0" * 64, "not a stored"),
                          (other, "not a stored evaluation report")):
        with pytest.raises(ValidationError, match=expected):
            registry.register(model, "churn", evaluation_digest=bad)
    assert _versions() == 0


def test_the_documented_way_to_attach_an_evaluation_report(roles: Path) -> None:
    from loopml.evaluate import evaluate
    from loopml.evaluate.records import report_for, report_html, save_report

    model, frame = tiny_model()
    test = frame.assign(y=(frame["a"] + frame["b"] > 0).astype(int))
    digest = save_report(evaluate(model, test, label="y", shap_sample=0, bootstrap=0))
    version = registry.register(model, "churn", evaluation_digest=digest)
    assert version.evaluation_digest == digest
    assert report_for("churn:1")["metrics"]["roc_auc"] > 0.5
    assert report_html("churn:1").lstrip().lower().startswith("<!doctype html")


def test_pickles_in_a_model_folder_never_reach_the_api_process(roles: Path, tmp_path: Path) -> None:
    """The API registers without trust_code: a pyfunc is refused before its pickle is even scanned."""
    canary = tmp_path / "CANARY"
    data = pickle.dumps(_Touch(canary))
    folder = _forge(tmp_path / "p", data, flavor="pyfunc", model_file="model.pkl")
    with pytest.raises(UnsafeModelError, match="trust_code=True"):
        registry.register(folder, "code")
    assert not canary.exists()


class _Touch:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):  # noqa: ANN204
        return (os.system, (f"touch {self.path}",))


def _plant(folder: Path, group: str) -> None:
    """A version stored by some other path than register (an older loopml, a restored database)."""
    from loopml.core import clock
    from loopml.registry import _records

    ref = context.get_artifacts().put_dir(folder)
    with context.get_db().write() as conn:
        _records.ensure_group(conn, group, actor="alice")
        _records.insert_version(
            conn, group_name=group, version=1, digest=ref.sha256, flavor="onnx", signature={"inputs": [
                {"name": "X", "type": "float64", "nullable": False}]}, status=registry.PENDING, description="",
            tags={}, metrics={}, evaluation_digest=None, lineage={}, card={}, created_by="alice",
            created_at=clock.now())


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_an_onnx_model_with_external_data_never_deploys_or_reads_the_hosts_files(roles: Path, tmp_path: Path,
                                                                                 monkeypatch) -> None:  # noqa: ANN001
    """RELIABILITY case 42 at deploy: even a version that slipped past register is refused by the replica,
    and the canary in the working directory, the home and /tmp never reaches an answer."""
    import uuid

    from loopml import serve
    from loopml.serve.endpoints import endpoint_dir
    from tests.models.onnx_payloads import CANARY_BYTES, CANARY_VALUE, sparse_constant

    work, home = endpoint_dir("exfil"), tmp_path / "home"  # the replicas' working directory
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    tmp_canary = Path("/tmp") / f"loopml-canary-{uuid.uuid4().hex}.bin"
    for path in (work / "canary.bin", home / "canary.bin", tmp_canary):
        path.write_bytes(CANARY_BYTES)
    try:
        folder = _forge(tmp_path / "o", sparse_constant("canary.bin").SerializeToString(), flavor="onnx",
                        model_file="model.onnx", signature={"inputs": [{"name": "X", "type": "float64"}]})
        _plant(folder, "exfil")
        registry.approve("exfil", 1, actor="bob")
        with pytest.raises(Exception, match="external data|failed to start|not InService") as err:
            serve.create("exfil", "exfil:1", timeout=120)
        assert str(CANARY_VALUE + 1) not in str(err.value)
        assert serve.describe("exfil")["status"] != "InService"
    finally:
        tmp_canary.unlink(missing_ok=True)
        for item in serve.list_endpoints():
            serve.stop_endpoint(item["name"], timeout=10)


def test_a_model_handed_between_pipeline_steps_registers_in_its_own_flavor(roles, tmp_path: Path) -> None:
    """Issue 17: a step's model output reaches the next step loaded from its folder (a LoadedModel); registering
    it with a signature saved a pickle of loopml's wrapper, refused as code. Now the estimator inside is saved."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from loopml.data import Recipe

    raw = pd.DataFrame({"plan": ["a", "b", "c", "a"] * 10, "x": [float(i) for i in range(40)]})
    recipe = Recipe.from_yaml("- {op: onehot, columns: [plan]}\n- {op: scale, columns: [x]}").fit(raw)
    fitted = Pipeline([("recipe", recipe.pipeline), ("clf", LogisticRegression())]).fit(raw, [0, 1] * 20)
    models.save(fitted, tmp_path / "step-output")
    loaded = models.load(tmp_path / "step-output")
    version = registry.register(loaded, "handed", signature=raw.head(5))
    assert version.flavor == "sklearn" and version.trusted_by is None
    assert [c["name"] for c in version.signature["inputs"]] == ["plan", "x"]
    again = registry.load_model(version.name)
    assert list(again.predict(raw.head(3))) == list(fitted.predict(raw.head(3)))
