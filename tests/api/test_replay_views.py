"""The version page's Reproducibility and Replays sections and the endpoint page's Replays section, over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from loopml.evaluate.replay import replay
from tests.api.conftest import World
from tests.monitor.capture_helpers import record, store

P = "/api/v1"
pytestmark = pytest.mark.timeout(600)


def test_replays_show_on_both_versions_and_the_endpoint_and_reproduction_says_how(world: World, tmp_path):
    at = datetime.now(UTC) - timedelta(hours=3)
    store("churn-ep", [record(f"e{i}", {"a": i / 10 - 2, "b": 1 - i / 20}, 0, at + timedelta(seconds=i))
                       for i in range(40)], tmp_path / "spool")
    found = replay("churn-ep", "churn:2", champion="churn:1", window="1d", rules=["replay.agreement >= 0.5"])
    viewer = world.auth("vic")
    for path in (f"{P}/models/churn/versions/1/replays/view", f"{P}/models/churn/versions/2/replays/view",
                 f"{P}/endpoints/churn-ep/replays/view"):
        response = world.client.get(path, headers=viewer)
        assert response.status_code == 200, response.text
        html = response.json()["html"]
        assert found["json_digest"][:19] in html and "Latest replay" in html and "agreement with the champion" in html
    repro = world.client.get(f"{P}/models/churn/versions/1/reproduction/view", headers=viewer)
    assert repro.status_code == 200 and "loopml reproduce churn:1" in repro.json()["html"]
    assert world.client.get(f"{P}/endpoints/churn-ep/replays/view", headers=world.auth("nobody")).status_code == 403
    empty = world.client.get(f"{P}/endpoints/other/replays/view", headers=viewer).json()["html"]
    assert "No replay yet" in empty
