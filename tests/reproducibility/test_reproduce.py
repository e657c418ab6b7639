"""``loopml reproduce``: a pipeline-trained XGBoost and a scikit-learn job re-made byte for byte in a fresh home; a
changed dataset and a changed package version each named as the cause; the original home gets one audit event."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from loopml import registry, train
from loopml.demo.churn_data import make_churn
from loopml.reproducibility import reproduce

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]
COLUMNS = ["tenure_months", "monthly_charges", "support_calls", "usage_hours", "churned"]
SRC = str(Path(__file__).resolve().parents[2] / "src")


def _files(home: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(home)): (p.stat().st_size, p.stat().st_mtime_ns) for p in home.rglob("*")
            if p.is_file() and not p.name.startswith("loopml.db")}


def _rows(home: Path) -> dict[str, int]:
    engine = sa.create_engine(f"sqlite:///{home / 'loopml.db'}")
    with engine.connect() as conn:
        names = sa.inspect(conn).get_table_names()
        counts = {n: conn.execute(sa.text(f'SELECT COUNT(*) FROM "{n}"')).scalar_one() for n in names}
    engine.dispose()
    return counts


def test_pipeline_trained_xgboost_reproduces_identically_and_writes_only_an_audit_event(home: Path) -> None:
    from loopml import pipelines
    from loopml.demo.pipeline_ref import example_target

    done = pipelines.run(example_target(), params={"n_rows": 800, "num_round": 10})
    assert done.status == "SUCCEEDED", done.error
    files, rows = _files(home), _rows(home)

    found = reproduce("churn:1")

    assert found.outcome == "identical", found.summary
    assert found.reproduced_digest == registry.get_version("churn", 1).digest
    assert found.kind == "pipeline" and found.summary.startswith("identical")
    steps = {s["step"]: s["outcome"] for s in found.steps}
    assert set(steps) == {s.step for s in done.steps}
    assert steps["train"] == "same-but-ids" and steps["prepare"] == "same", steps
    assert _files(home) == files, "the reproduction wrote files into the original home"
    after = _rows(home)
    assert {k: v for k, v in after.items() if after[k] != rows.get(k)} == {"audit_events": rows["audit_events"] + 1}
    from loopml.reproducibility import last_reproduction

    assert last_reproduction("churn", 1)["outcome"] == "identical"


def test_scikit_learn_job_reproduces_identically(home: Path) -> None:
    from loopml.data import register_dataset

    register_dataset("churn_train", make_churn(600, seed=1)[COLUMNS])
    run = train.run(algorithm="random_forest", channels={"train": "churn_train"},
                    hyperparameters={"target": "churned", "n_estimators": 10}, seed=3, stream=False)
    registry.register_run(run.id, "forest")

    found = reproduce("forest:1")

    assert found.identical, found.summary
    assert found.recorded_digest == found.reproduced_digest == run.model_digest
    assert [c["status"] for c in found.checks["inputs"]] == ["ok", "ok"]


def test_a_changed_dataset_is_reported_as_the_cause(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "customers.parquet"
    make_churn(600, seed=1)[COLUMNS].to_parquet(data)
    run = train.run(algorithm="random_forest", channels={"train": str(data)},
                    hyperparameters={"target": "churned", "n_estimators": 10}, seed=3, stream=False)
    registry.register_run(run.id, "forest")
    make_churn(600, seed=2)[COLUMNS].to_parquet(data)  # someone rewrote the file in place

    found = reproduce("forest:1")

    assert found.outcome == "different"
    assert found.cause["kind"] == "input", found.cause
    assert "channel train" in found.cause["text"] and "changed" in found.cause["text"]
    assert found.checks["inputs"][0]["status"] == "changed"
    assert found.metrics_agreement is not None and "agree" in found.metrics_agreement


_SCRIPT = '''
import os, pandas as pd, featlib
from sklearn.linear_model import LogisticRegression
from loopml import models
frame = pd.read_parquet(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "customers.parquet"))
X = featlib.transform(frame.drop(columns=["churned"]))
models.save(LogisticRegression(max_iter=500).fit(X, frame["churned"]), os.environ["SM_MODEL_DIR"])
'''


def _featlib(site: Path, version: str, scale: float) -> None:
    for old in site.glob("featlib-*.dist-info"):
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    info = site / f"featlib-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: featlib\nVersion: {version}\n")
    (site / "featlib.py").write_text(f"def transform(df):\n    return df.assign(usage_hours=df.usage_hours ** {scale})\n")


def _python(code: list[str], home: Path, site: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), SRC]), "LOOPML_HOME": str(home),
           "LOOPML_USER": "alice", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, *code], env=env, cwd=cwd, capture_output=True, text=True, timeout=900)


def test_a_changed_package_version_is_reported_as_the_cause(home: Path, tmp_path: Path) -> None:
    site, work = tmp_path / "site", tmp_path / "work"
    work.mkdir()
    _featlib(site, "1.0", 1.0)
    (work / "train.py").write_text(_SCRIPT)
    make_churn(600, seed=1)[COLUMNS].to_parquet(work / "customers.parquet")
    trained = _python(["-c", "from loopml import train, registry\n"
                       "run = train.run('train.py', channels={'train': 'customers.parquet'}, seed=0, stream=False, "
                       "raise_on_failure=True)\nregistry.register_run(run.id, 'scaled')"], home, site, work)
    assert trained.returncode == 0, trained.stderr
    assert train.list_runs()[0].environment["packages"]["featlib"] == "1.0"
    _featlib(site, "1.1", 0.5)  # the package was upgraded since, and transforms differently

    out = _python(["-m", "loopml.cli.main", "reproduce", "scaled:1", "--json"], home, site, work)

    assert out.returncode == 1, (out.stdout[-2000:], out.stderr[-2000:])  # exit 1: the model differs
    found = json.loads(out.stdout or "null") or pytest.fail(f"no JSON: {out.stdout[-1500:]} {out.stderr[-1500:]}")
    assert found["outcome"] == "different"
    assert found["cause"]["kind"] == "package", found["cause"]
    assert "featlib 1.0 → 1.1" in found["cause"]["text"]
    assert {"kind": "package", "name": "featlib", "recorded": "1.0", "now": "1.1"} in found["checks"]["environment"]


def test_a_version_without_lineage_is_refused_in_one_line(home: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    frame = make_churn(200, seed=1)[COLUMNS]
    registry.register(LogisticRegression().fit(frame.drop(columns=["churned"]), frame["churned"]), "bare")
    out = subprocess.run([sys.executable, "-m", "loopml.cli.main", "reproduce", "bare:1"], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": SRC}, timeout=300)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "neither a pipeline execution nor a training run" in out.stderr

