"""A corrupted model is never deserialized or approved (case 22); the audit row shares the change's
transaction (case 38, kill between business write and audit insert)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from loopml import registry
from loopml.core import audit, context
from loopml.errors import ArtifactCorrupted

ROOT = Path(__file__).resolve().parents[2]


def _blob_path(digest: str) -> Path:
    hexdigest = digest.split(":", 1)[1]
    return Path(context.get_settings().artifacts_url) / "sha256" / hexdigest[:2] / hexdigest


@pytest.mark.parametrize("damage", ["flip", "truncate", "swap"])
def test_a_corrupted_model_is_refused_before_loading(roles, model, tmp_path, damage, monkeypatch) -> None:
    from tests.registry.conftest import tiny_model

    version = registry.register(model, "churn")
    other = registry.register(tiny_model(5.0)[0], "churn")
    manifest = context.get_artifacts().read_manifest(version.digest)
    biggest = max(manifest["files"], key=lambda f: f["size"])
    blob = _blob_path(biggest["sha256"])
    data = blob.read_bytes()
    if damage == "flip":
        blob.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    elif damage == "truncate":
        blob.write_bytes(data[: len(data) // 2])
    else:
        other_files = context.get_artifacts().read_manifest(other.digest)["files"]
        blob.write_bytes(context.get_artifacts().get_bytes(max(other_files, key=lambda f: f["size"])["sha256"]))
    from loopml import models

    loads = []
    monkeypatch.setattr(models, "load", lambda *a, **k: loads.append(a))
    with pytest.raises(ArtifactCorrupted):
        registry.load_model("churn:1")
    with pytest.raises(ArtifactCorrupted):
        registry.approve("churn", 1, actor="bob")
    assert loads == []
    assert registry.get_version("churn", 1).status == registry.PENDING
    with context.get_db().read() as conn:
        failures = audit.events(conn, action="artifact.integrity_failure")
    assert failures and failures[0].resource == "model:churn/1"


_KILLED = """
from tests.registry.conftest import tiny_model
from loopml import registry
registry.register(tiny_model()[0], "churn")
"""


def test_a_kill_between_the_change_and_its_audit_row_leaves_neither(home) -> None:
    with context.get_db().read() as conn:  # the home exists: its founding grant is audit event 1
        before = conn.execute(sa.text("SELECT count(*) FROM audit_events")).scalar()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LOOPML_FAULTS": "after_audit_append:kill@2"}
    proc = subprocess.run([sys.executable, "-c", _KILLED], cwd=ROOT, env=env, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    with context.get_db().read() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM model_versions")).scalar() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM audit_events")).scalar() == before == 1
        assert audit.verify(conn).ok
