"""Run the artifact-store contract over every back end: a local folder and a real S3 server (moto)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopml.core.artifacts import ArtifactStore
from loopml.testing.artifact_contract import CONTRACT


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    if request.param == "local":
        return ArtifactStore(str(tmp_path / "cas"))
    return ArtifactStore(request.getfixturevalue("s3_bucket"))


@pytest.mark.parametrize("check", CONTRACT, ids=lambda c: c.__name__)
def test_artifact_store_contract(store: ArtifactStore, check, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    check(store, scratch)
