"""One name rule for every named object (issue 12, "Folders and names"): ``.``, ``..``, ``../../x``, a look-alike
of an existing name and the other hostile names below are refused by the library for every kind of object,
by the CLI with a one-line error, and by the REST API, before anything is created."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from loopml.core import names
from loopml.errors import ValidationError

CYRILLIC_CHURN = "\u0441hurn"  # 'с' (U+0441) looks like the Latin 'c' of "churn"
HOSTILE = [".", "..", "../../x", "..\\..\\x", "/etc/passwd", "a/b", "", " ", "a b", "x\x00", "x\n", "-x", "_x",
           ".hidden", CYRILLIC_CHURN, "churn\u200b", "ｃhurn", "é", "a" * 201, "%2e%2e", "a;b", "a?b", "a#b"]


def test_the_rule_itself():
    for good in ("churn", "Churn-2", "churn_v2", "churn.v2", "a", "0", "a" * 200):
        assert names.check("model group", good) == good
    for bad in HOSTILE:
        assert not names.is_name(bad), repr(bad)
        with pytest.raises(ValidationError, match="model group name .* is not allowed: use 1-200 ASCII"):
            names.check("model group", bad)
    with pytest.raises(ValidationError, match="name 7 is not allowed"):
        names.check("alarm", 7)


def _tiny_model() -> Any:
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    return LogisticRegression().fit(frame, [0, 0, 1, 1])


def _creators() -> dict[str, Callable[[str], Any]]:
    """Each kind of named object and the library call that creates one with the given name."""
    from loopml import data, events, monitor, registry, serve, train
    from loopml.core import context, identity
    from loopml.features import FeatureGroup
    from loopml.pipelines import pipeline

    def grant(name: str) -> Any:
        with context.get_db().write() as conn:
            return identity.grant(conn, name, "viewer", actor="alice")

    return {
        "model group (create)": lambda n: registry.create_group(n),
        "model group (register)": lambda n: registry.register(_tiny_model(), n),
        "alias": lambda n: registry.set_alias("churn", n, 1),
        "dataset": lambda n: data.register_dataset(n, pd.DataFrame({"x": [1]})),
        "experiment": lambda n: train.create_run(n),
        "alarm": lambda n: monitor.put_alarm(n, source="endpoint:churn", metric="p99", threshold=1.0),
        "monitoring schedule": lambda n: monitor.create_monitoring_schedule(n, "churn-live", interval_seconds=60),
        "pipeline schedule": lambda n: monitor.create_pipeline_schedule(n, "m:p", interval_seconds=60),
        "event rule": lambda n: events.put_rule(n, {"source": ["loopml.registry"]}, [{"type": "log"}]),
        "endpoint": lambda n: serve.create(n, "churn:1", start=False),
        "feature group": lambda n: FeatureGroup(n, entity_keys=["id"], event_time="ts", features={"x": "float64"}),
        "pipeline": lambda n: pipeline(name=n)(lambda: None),
        "user": grant,
    }


@pytest.fixture
def churn(home: Path) -> Path:
    from loopml import registry

    registry.register(_tiny_model(), "churn")
    return home


@pytest.mark.parametrize("kind", sorted(_creators()))
def test_every_kind_of_named_object_refuses_every_hostile_name(churn, kind):
    from loopml.core import audit, context

    create = _creators()[kind]
    with context.get_db().read() as conn:
        before = audit.head(conn)[0]
    for bad in HOSTILE:
        with pytest.raises(ValidationError, match=r"name .* is not allowed: use .*, e\.g\. '"):
            create(bad)
    with context.get_db().read() as conn:
        assert audit.head(conn)[0] == before, f"a refused {kind} name changed something"


def test_a_look_alike_of_an_existing_group_is_refused_and_the_original_stays_reachable(churn):
    from loopml import registry

    with pytest.raises(ValidationError, match="model group name"):
        registry.register(_tiny_model(), CYRILLIC_CHURN)
    assert [g.name for g in registry.list_groups()] == ["churn"]
    assert registry.get_version("churn", 1).version == 1


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOOPML_HOME": str(home), "LOOPML_USER": "alice"}
    return subprocess.run([sys.executable, "-m", "loopml.cli.main", *args], capture_output=True, text=True, env=env,
                          cwd=home.parent, timeout=120, check=False)


@pytest.mark.parametrize("args", [
    ("alarms", "put", "../../x", "--source", "endpoint:churn", "--metric", "p99", "--threshold", "1"),
    ("data", "register", "..", "rows.csv"),
    ("train", "run", "--experiment", "../../x", "--algorithm", "xgboost", "--train", "rows.csv", "--target", "y"),
])
def test_the_cli_refuses_a_hostile_name_in_one_line(churn, tmp_path, args):
    (tmp_path / "rows.csv").write_text("x,y\n1,0\n2,1\n")
    result = _cli(churn, *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "name" in lines[0] and "is not allowed: use" in lines[0], result.stderr


@pytest.mark.parametrize("group", [".", "..", CYRILLIC_CHURN, "%2e%2e", "a b", "-x"])
def test_the_api_refuses_the_same_names(churn, group):
    from urllib.parse import quote

    from fastapi.testclient import TestClient
    from tests.api.conftest import make_users

    from loopml import registry
    from loopml.api import create_app

    secrets = make_users(churn)
    auth = {"Authorization": f"Bearer {secrets['dana']}"}
    digest = registry.get_version("churn", 1).digest
    with TestClient(create_app(), base_url="http://127.0.0.1") as client:
        path = quote(group, safe="").replace(".", "%2E")  # a client would drop a bare '.' or '..' segment
        response = client.post(f"/api/v1/models/{path}/versions", json={"artifact": digest}, headers=auth)
        assert response.status_code in (400, 422), response.text
        assert response.json()["error_id"]
        groups = client.get("/api/v1/models", headers=auth).json()["items"]
    assert [g["name"] for g in groups] == ["churn"]
