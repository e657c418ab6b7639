from __future__ import annotations

import json

from typer.testing import CliRunner

from loopml.cli.features import app
from loopml.features import ingest
from tests.features.conftest import customer_rows

runner = CliRunner()


def test_list_describe_get_materialize_as_json(group) -> None:
    ingest("customer", customer_rows(2, 3))
    listed = runner.invoke(app, ["list", "--json"])
    assert listed.exit_code == 0 and [g["name"] for g in json.loads(listed.stdout)] == ["customer"]
    described = json.loads(runner.invoke(app, ["describe", "customer", "--json"]).stdout)
    assert described["offline_rows"] == 6 and described["features"]["orders"] == "int64"
    got = json.loads(runner.invoke(app, ["get", "customer", "1", "7", "-f", "orders", "--json"]).stdout)
    assert got == [{"customer_id": 1, "orders": int(customer_rows(2, 3).orders[2])}, {"customer_id": 7, "orders": None}]
    done = json.loads(runner.invoke(app, ["materialize", "customer", "--end", "2024-05-02", "--json"]).stdout)
    assert done["entities"] == 2 and done["watermark"] == "2024-05-02T00:00:00+00:00"


def test_tables_and_errors(group) -> None:
    assert "customer" in runner.invoke(app, ["list"]).stdout
    assert "spend: float64" in runner.invoke(app, ["describe", "customer"]).stdout
    bad = runner.invoke(app, ["get", "customer", "abc"])
    assert bad.exit_code != 0 and "is int64, got 'abc'" in str(bad.exception)
    assert runner.invoke(app, ["register", "tests.features.conftest:REDIS_URL"]).exit_code != 0
