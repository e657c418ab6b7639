from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def tiny_model(c: float = 1.0):  # noqa: ANN201
    """A fitted LogisticRegression on a small frame; different ``c`` gives different bytes."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    target = (frame["a"] + frame["b"] > 0).astype(int)
    return LogisticRegression(C=c).fit(frame, target), frame


@pytest.fixture
def model():  # noqa: ANN201
    return tiny_model()[0]


@pytest.fixture
def roles(home):  # noqa: ANN001, ANN201
    """alice: data-scientist (default) + approver; bob: approver; carol: viewer; root: admin."""
    from loopml.core import context, identity

    with context.get_db().write() as conn:
        identity.grant(conn, "root", "admin", actor="root")
        identity.grant(conn, "alice", "approver", actor="root")
        identity.grant(conn, "alice", "data-scientist", actor="root")
        identity.grant(conn, "bob", "approver", actor="root")
        identity.grant(conn, "carol", "viewer", actor="root")
    return home
