"""Serving fixtures: small fitted models, registered and approved through the registry API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

FEATURES = ["a", "b", "c"]
SIGNATURE = {"inputs": [{"name": n, "type": "float64"} for n in FEATURES]}


def fitted(seed: int = 0, *, n: int = 200) -> tuple[Any, pd.DataFrame]:
    """A LogisticRegression on three numeric features; the seed changes its bytes."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=FEATURES)
    target = (frame["a"] + frame["b"] > 0).astype(int)
    return LogisticRegression(C=1.0 + seed).fit(frame, target), frame


class Failing:
    """A model whose predict raises whenever feature ``a`` is above 100 (a poison input)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def predict(self, frame: pd.DataFrame) -> Any:
        if (frame["a"] > 100).any():
            raise RuntimeError("poison input")
        return self.inner.predict(frame)


@pytest.fixture
def served(home: Path):  # noqa: ANN201
    """Register + approve a model version and return a function that does it again (new seed).

    Every endpoint still running at the end of the test is stopped."""
    from loopml import registry
    from loopml.core import context, identity

    with context.get_db().write() as conn:
        identity.grant(conn, "root", "admin", actor="root")
        identity.grant(conn, "alice", "data-scientist", actor="root")
        identity.grant(conn, "bob", "approver", actor="root")

    def make(seed: int = 0, *, group: str = "churn", approve: bool = True, model: Any = None) -> Any:
        version = registry.register(model or fitted(seed)[0], group, signature=SIGNATURE, actor="alice")
        if approve:
            version = registry.approve(group, version.version, note="ok", actor="bob")
        return version

    yield make
    from loopml import serve

    for item in serve.list_endpoints():
        serve.stop_endpoint(item["name"], timeout=10)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """(replica URL, router URL): a real replica process and a real router in front of it, for a module."""
    from tests.serve.live import replica_set, router

    tmp = tmp_path_factory.mktemp("live")
    with replica_set(tmp, max_body=256 * 1024) as replicas, router(replicas, max_body=256 * 1024) as url:
        yield replicas.replicas[0].url, url
