from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loopml.cli.data import app
from loopml.errors import NotFoundError, ValidationError

runner = CliRunner()


def _json(args: list[str]):
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_register_list_show_versions_profile_sql(churn_csv: Path, tmp_path: Path) -> None:
    registered = _json(["register", "churn", str(churn_csv), "-d", "export"])
    assert registered["version"] == 1 and registered["rows"] == 200
    assert [d["name"] for d in _json(["list"])] == ["churn"]
    assert _json(["show", "churn"])["schema"][1]["logical_type"] == "categorical"
    assert _json(["register", "by_plan", "--sql", "SELECT plan, count(*) n FROM churn GROUP BY plan"])["rows"] == 3
    assert [v["version"] for v in _json(["versions", "churn"])] == [1]
    report = _json(["profile", "churn", "--html", str(tmp_path / "p.html")])
    assert report["rows"] == 200 and (tmp_path / "p.html").read_text().count("<svg") == 5
    rows = _json(["sql", "SELECT count(*) AS n FROM churn"])
    assert rows == [{"n": 200}]
    leak = _json(["leakage", "churn", "--target", "churned"])
    assert leak["task"] == "classification" and set(leak["scores"]) == {"customer_id", "plan", "tenure", "spend"}


def test_human_output(churn_csv: Path) -> None:
    assert "churn@1: 200 rows, 5 columns" in runner.invoke(app, ["register", "churn", str(churn_csv)]).stdout
    assert "churn" in runner.invoke(app, ["list"]).stdout
    shown = runner.invoke(app, ["show", "churn", "--version", "1"]).stdout
    assert "plan: categorical  [basic, pro, team]" in shown
    assert "warning" in runner.invoke(app, ["profile", "churn"]).stdout  # customer_id is ID-like
    assert "basic" in runner.invoke(app, ["sql", "SELECT DISTINCT plan FROM churn ORDER BY plan"]).stdout
    assert "0 flagged" in runner.invoke(app, ["leakage", "churn", "-t", "churned"]).stdout


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (["show", "ghost"], NotFoundError, "no dataset named 'ghost'"),
        (["register", "x", "nowhere.csv"], NotFoundError, "'nowhere.csv' does not exist"),
        (["sql", "SELECT * FROM ghost"], NotFoundError, "'ghost', which is not a registered dataset"),
        (["register", "bad-name", "nowhere.csv"], ValidationError, "is not allowed"),
    ],
)
def test_errors_surface_as_loopml_errors(home: Path, args: list[str], error, match: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code != 0 and isinstance(result.exception, error)
    assert match in str(result.exception)
