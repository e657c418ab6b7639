from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from loopml.cli.train import app, runs_app, tune_app
from loopml.train import tracking

cli = typer.Typer()
cli.add_typer(app, name="train")
cli.add_typer(runs_app, name="runs")
cli.add_typer(tune_app, name="tune")
runner = CliRunner()


def test_train_run_a_builtin_then_list_show_and_search(churn_file):
    result = runner.invoke(cli, ["train", "run", "--algorithm", "xgboost", "--train", str(churn_file),
                                 "--target", "churned", "-H", "num_round=5", "-H", "max_depth=3", "--json"])
    assert result.exit_code == 0, result.output
    run = json.loads(result.output)
    assert run["status"] == "COMPLETED" and run["params"]["max_depth"] == 3

    listed = json.loads(runner.invoke(cli, ["runs", "list", "--json"]).output)
    assert [r["id"] for r in listed] == [run["id"]]
    found = runner.invoke(cli, ["runs", "search", "metrics.train:auc > 0.5 and params.max_depth = 3", "--json"])
    assert [r["id"] for r in json.loads(found.output)] == [run["id"]]
    shown = runner.invoke(cli, ["runs", "show", run["id"]])
    assert "STARTING -> TRAINING -> COMPLETED" in shown.output


def test_unknown_hyperparameter_is_refused_from_the_shell(churn_file):
    result = runner.invoke(cli, ["train", "run", "-a", "xgboost", "--train", str(churn_file), "--target", "churned",
                                 "-H", "depth=3"])
    assert result.exit_code != 0
    assert "unknown hyperparameter" in str(result.exception)
    assert tracking.list_runs() == []


def test_algorithms_and_compare(home):
    names = {a["name"] for a in json.loads(runner.invoke(cli, ["train", "algorithms", "--json"]).output)}
    assert "lightgbm" in names
    a, b = tracking.create_run("x", params={"lr": 1}), tracking.create_run("x", params={"lr": 2})
    out = json.loads(runner.invoke(cli, ["runs", "compare", a.id, b.id, "--json"]).output)
    assert out["params"] == {"lr": [1, 2]}
