"""Garbage collection keeps everything a record names, and fsck names the record behind a bad blob
(RELIABILITY.md cases 50 and 2), through the real ``loopml`` command, on a local folder and on S3.

Each kind of artifact is created, ``loopml gc --grace 0`` runs, it is loaded back intact; then one byte of
each of its blobs is flipped and ``loopml fsck`` must name the record and exit 1.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from loopml.core import context, identity

ROOT = Path(__file__).resolve().parents[2]
LOOPML = [sys.executable, "-m", "loopml.cli.main"]
# several real CLI runs per test: on a machine shared by many jobs each can take half a minute
pytestmark = pytest.mark.timeout(900)


def loopml(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command, in this test's environment (home, stores, user)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "400"}
    return subprocess.run([*LOOPML, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def flip_blob(digest: str) -> None:
    """Flip one byte in the middle of a stored blob, keeping its size (works on any back end)."""
    store = context.get_artifacts()
    data = bytearray(store.read_unverified(digest))
    data[len(data) // 2] ^= 0x01
    tampered = Path(context.get_settings().home) / f"tampered-{uuid.uuid4().hex}"
    tampered.parent.mkdir(parents=True, exist_ok=True)
    tampered.write_bytes(bytes(data))
    store.blobs.put_file(tampered, f"sha256/{digest[7:9]}/{digest[7:]}")
    tampered.unlink(missing_ok=True)


@dataclass
class Made:
    """An artifact as a user holds it: how to read it back, and the blobs fsck must name when damaged."""

    load: Callable[[], Any]
    bad: list[tuple[str, str]]  # (digest, the record fsck names)
    damage: Callable[[str], None] = flip_blob


def _frame(n: int = 80, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    frame["y"] = (frame["a"] + frame["b"] > 0).astype(int)
    return frame


def _fit(frame: pd.DataFrame) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit(frame[["a", "b"]], frame["y"])


def _files(digest: str) -> list[dict[str, Any]]:
    return sorted(context.get_artifacts().read_manifest(digest)["files"], key=lambda f: -f["size"])


# -- one builder per kind of artifact -----------------------------------------------------------------
def make_model(tmp_path: Path) -> Made:
    from loopml import registry

    frame = _frame()
    version = registry.register(_fit(frame), "churn")
    biggest = _files(version.digest)[0]
    return Made(lambda: np.asarray(registry.load_model("churn:1").predict(frame[["a", "b"]])).tolist(),
                [(biggest["sha256"], f"model churn:1 file {biggest['path']}")])


def make_dataset(tmp_path: Path) -> Made:
    from loopml import data

    path = tmp_path / "d.csv"
    _frame().to_csv(path, index=False)
    info = data.register_dataset("ds", path)
    return Made(lambda: data.load_dataset("ds").to_dict("list"), [(info.sha256, "dataset ds@1")])


def make_features(tmp_path: Path) -> Made:
    from loopml.features import FeatureGroup, get_training_set, ingest, offline, register_feature_group

    register_feature_group(FeatureGroup("customer", entity_keys=["customer_id"], event_time="ts",
                                        features={"spend": "float64"}))
    days = pd.date_range("2024-05-01", periods=3, freq="D", tz="UTC")
    rows = pd.DataFrame({"customer_id": [1, 2, 3], "ts": days, "spend": [1.5, 2.5, 3.5]})
    result = ingest("customer", rows, online=False)
    entity = pd.DataFrame({"customer_id": [1, 2, 3], "ts": days + timedelta(hours=1)})
    entry = offline.manifests("customer")[0].files[0]
    url = f"{offline.root_url().rstrip('/')}/{entry['path']}"

    def damage(_: str) -> None:
        import fsspec

        from loopml.core.blobs import storage_options

        with fsspec.open(url, "rb", **storage_options(url)) as fh:
            data = bytearray(fh.read())
        data[len(data) // 2] ^= 0x01
        with fsspec.open(url, "wb", **storage_options(url)) as fh:
            fh.write(bytes(data))

    record = f"feature group customer@1 ingest {result.ingest_id} file {url}"
    return Made(lambda: get_training_set(entity, ["customer:spend"])["spend"].tolist(),
                [(entry["sha256"], record)], damage)


def make_evaluation(tmp_path: Path) -> Made:
    from loopml import registry
    from loopml.evaluate import evaluate
    from loopml.evaluate.records import load_report, report_html, save_report

    frame = _frame(200)
    model = _fit(frame)
    digest = save_report(evaluate(model, frame[["a", "b", "y"]], label="y", shap_sample=20, bootstrap=0))
    registry.register(model, "churn", evaluation_digest=digest)
    html = load_report(digest)["html"]
    return Made(lambda: (load_report("sha256:" + digest[7:])["metrics"], report_html("churn:1")),
                [(html, "model churn:1 evaluation report"), (digest, "model churn:1 evaluation report")])


T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def make_monitoring(tmp_path: Path) -> Made:
    from tests.monitor.capture_helpers import records_for, store

    from loopml import monitor
    from loopml.serve import capture

    base = _frame(300)[["a", "b"]]
    baseline = monitor.create_baseline(base)
    monitor.create_monitoring_schedule("dq", "ep", statistics=baseline.statistics_digest,
                                       constraints=baseline.constraints_digest, interval_seconds=3600,
                                       check_signature=False)
    store("ep", records_for(_frame(50, 1)[["a", "b"]], T0), tmp_path / "spool")
    execution = monitor.run_monitor("dq", window_start=T0, window_end=T0 + timedelta(hours=1))
    hour = T0.strftime("%Y%m%d%H")
    (capture_file,) = capture.list_files("ep")  # outside the store, in SageMaker's layout (decision 15)
    url = f"{capture.capture_root().rstrip('/')}/{capture_file['key']}"
    store_ = context.get_artifacts()

    def damage(digest: str) -> None:
        _flip_file(url) if digest == captured else flip_blob(digest)

    captured = "sha256:" + hashlib.sha256(_read_url(url)).hexdigest()
    return Made(lambda: (capture.read_records("ep"), monitor.read_report(execution),
                         store_.get_bytes(baseline.statistics_digest)),
                [(baseline.statistics_digest, "monitoring schedule dq baseline statistics"),
                 (captured, f"endpoint ep capture {hour} file {url}"),
                 (execution.report_digest, f"monitoring execution {execution.id} report")], damage)


def _read_url(url: str) -> bytes:
    import fsspec

    from loopml.core.blobs import storage_options

    with fsspec.open(url, "rb", **storage_options(url)) as fh:
        return bytes(fh.read())


def _flip_file(url: str) -> None:
    import fsspec

    from loopml.core.blobs import storage_options

    data = bytearray(_read_url(url))
    data[len(data) // 2] ^= 0x01
    with fsspec.open(url, "wb", **storage_options(url)) as fh:
        fh.write(bytes(data))


def make_ground_truth(tmp_path: Path) -> Made:
    from loopml.serve import capture

    path = tmp_path / "labels.csv"
    path.write_text("eventId,label\ne1,1\ne2,0\n")
    digest = capture.upload_ground_truth("ep", path)["digest"]
    return Made(lambda: capture.read_ground_truth("ep"), [(digest, "endpoint ep ground truth")])


def make_async(tmp_path: Path) -> Made:
    from loopml.serve import async_queue

    request, _ = async_queue.submit("ep", b'{"instances": [[1, 2]]}')
    claimed = async_queue.claim("ep", "worker-1")
    assert claimed is not None
    done = async_queue.complete(claimed[0], claimed[1], b'{"predictions": [1]}')
    owner = f"endpoint ep async request {request.id}"
    store = context.get_artifacts()
    return Made(lambda: (store.get_bytes(async_queue.get(request.id).input_digest),
                         store.get_bytes(async_queue.get(request.id).output_digest or "")),
                [(request.input_digest, f"{owner} payload"), (done.output_digest or "", f"{owner} result")])


def make_training(tmp_path: Path) -> Made:
    from tests.train.conftest import churn_frame

    from loopml.train import jobs
    from loopml.train.checkpoints import stored_checkpoints

    hps = {"target": "churned", "epochs": 20, "checkpoint_every": 10, "mini_batch_size": 200, "seed": 3}
    run = jobs.run(algorithm="linear-learner", channels={"train": churn_frame(300)}, hyperparameters=hps,
                   stream=False)
    assert run.status == "COMPLETED", run.error
    step, checkpoint = stored_checkpoints(run.id)[0]
    model_file = _files(run.model_digest or "")[0]
    channel = run.inputs["train"]["sha256"]
    store = context.get_artifacts()

    def load() -> Any:
        folder = jobs.fetch_model(run.id, tmp_path / f"model-{uuid.uuid4().hex}")
        return sorted(p.read_bytes() for p in folder.rglob("*") if p.is_file()), store.get_bytes(checkpoint)

    bad = [(model_file["sha256"], f"run {run.id} model file {model_file['path']}"),
           (checkpoint, f"run {run.id} checkpoint step {step}"), (channel, f"run {run.id} input channel train")]
    if run.logs_digest and store.get_bytes(run.logs_digest):
        bad.append((run.logs_digest, f"run {run.id} log"))
    return Made(load, bad)


def make_pipeline(tmp_path: Path) -> Made:
    from loopml.pipelines import output, run

    info = run("tests.pipelines.resources.basic:chain", executor="inline")
    steps = [s.step for s in info.steps]

    def load() -> Any:
        values = [output(info.id, s) for s in steps]
        return [v.to_dict("list") if hasattr(v, "to_dict") else np.asarray(v).tolist() for v in values]

    first = info.steps[0]
    return Made(load, [(first.output_digest or "", f"pipeline execution {info.id} step {first.step} output")])


def make_recipe(tmp_path: Path) -> Made:
    from loopml.data import Recipe, load_recipe, save_recipe

    frame = _frame().assign(plan=["basic", "pro"] * 40)
    recipe = Recipe([{"op": "onehot", "columns": ["plan"]}, {"op": "scale", "columns": ["a"], "method": "standard"}])
    recipe.fit(frame, target="y")
    digest = save_recipe(recipe)
    yaml_file = next(f for f in _files(digest) if f["path"] == "recipe.yaml")
    return Made(lambda: load_recipe(digest).transform(frame.head(5)).to_dict("list"),
                [(yaml_file["sha256"], "artifact (application/vnd.loopml.recipe+dir) file recipe.yaml")])


KINDS: dict[str, Callable[[Path], Made]] = {
    "model": make_model, "dataset": make_dataset, "features": make_features, "evaluation": make_evaluation,
    "monitoring": make_monitoring, "ground truth": make_ground_truth, "async": make_async,
    "training": make_training, "pipeline": make_pipeline, "recipe": make_recipe,
}
ON_S3 = ("model", "dataset", "features", "async", "monitoring")


@pytest.fixture
def governed(home: Path) -> Path:
    with context.get_db().write() as conn:
        identity.grant(conn, "root", "admin", actor="root")
        for role in ("data-scientist", "approver"):
            identity.grant(conn, "alice", role, actor="root")
    return home


def _on_s3(s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from loopml.config import reset_settings

    monkeypatch.setenv("LOOPML_ARTIFACTS", s3_bucket)
    monkeypatch.setenv("LOOPML_FEATURES", s3_bucket.replace("/artifacts", "/features"))
    monkeypatch.setenv("LOOPML_CAPTURE", s3_bucket.replace("/artifacts", "/capture"))
    reset_settings()


def _gc_keeps_and_fsck_names(made: Made) -> None:
    store = context.get_artifacts()
    orphan = store.put_bytes(f"written by a writer that crashed {uuid.uuid4()}".encode())
    before = made.load()
    swept = loopml("gc", "--grace", "0")
    assert swept.returncode == 0, swept.stderr
    assert "deleted 1 orphan blobs" in swept.stdout
    assert not store.exists(orphan)
    assert made.load() == before
    assert loopml("fsck").returncode == 0
    for digest, _ in made.bad:
        made.damage(digest)
    checked = loopml("fsck")
    assert checked.returncode == 1, checked.stdout
    for digest, record in made.bad:
        assert f"{record}: {digest} corrupted" in checked.stdout, checked.stdout


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_gc_keeps_every_kind_of_artifact_and_fsck_names_a_corrupted_one(
        governed: Path, tmp_path: Path, kind: str) -> None:
    _gc_keeps_and_fsck_names(KINDS[kind](tmp_path))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ON_S3)
def test_the_same_on_s3(governed: Path, tmp_path: Path, kind: str, s3_bucket: str,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    _on_s3(s3_bucket, monkeypatch)
    _gc_keeps_and_fsck_names(KINDS[kind](tmp_path))
    assert context.get_artifacts().url.startswith("s3://")


def test_async_payloads_on_the_redis_queue_are_kept(governed: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    redis = pytest.importorskip("redis")
    prefix = f"loopml-test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("LOOPML_QUEUE", f"redis://127.0.0.1:6379/0?prefix={prefix}")
    try:
        _gc_keeps_and_fsck_names(make_async(tmp_path))
    finally:
        client = redis.Redis(host="127.0.0.1", port=6379)
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
