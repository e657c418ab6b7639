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


def test_ingest_from_a_file_and_from_the_catalog(home, tmp_path) -> None:
    """`loopml features ingest GROUP FILE|DATASET` validates, appends and upserts; a bad file writes nothing."""
    import pandas as pd

    from loopml.data import register_dataset
    from loopml.features import FeatureGroup, get_online_features, register_feature_group

    register_feature_group(FeatureGroup("cust", entity_keys=["customer_id"], event_time="ts",
                                        features={"spend": "float64"}))
    frame = pd.DataFrame({"customer_id": [1, 2], "ts": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True),
                          "spend": [3.5, 4.0]})
    frame.to_parquet(tmp_path / "rows.parquet")
    first = runner.invoke(app, ["ingest", "cust", str(tmp_path / "rows.parquet")])
    assert first.exit_code == 0, first.output
    assert "2 rows received, 2 new" in first.output
    register_dataset("more", frame.assign(customer_id=[3, 4]))
    assert runner.invoke(app, ["ingest", "cust", "more"]).exit_code == 0
    assert get_online_features("cust", 4)["spend"] == 4.0
    frame.rename(columns={"spend": "spent"}).to_parquet(tmp_path / "bad.parquet")
    bad = runner.invoke(app, ["ingest", "cust", str(tmp_path / "bad.parquet")])
    assert bad.exit_code != 0 and "spen" in str(bad.exception or bad.output)
