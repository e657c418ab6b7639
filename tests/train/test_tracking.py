from __future__ import annotations

import pytest

from loopml.errors import NotFoundError, ValidationError
from loopml.train import tracking


def test_runs_keep_params_metric_series_and_latest_values(home):
    run = tracking.create_run("churn", params={"max_depth": 6, "eta": 0.1}, tags={"team": "growth"})
    tracking.log_metrics(run.id, [("loss", 0.9, 1), ("loss", 0.5, 2), ("loss", 0.7, 0)])
    tracking.log_metric(run.id, "auc", 0.81)

    got = tracking.get_run(run.id)
    assert got.params == {"max_depth": 6, "eta": 0.1}
    assert got.tags == {"team": "growth"}
    assert got.metrics == {"loss": 0.5, "auc": 0.81}  # latest = highest step
    assert [p.step for p in tracking.metric_history(run.id, "loss")] == [0, 1, 2]


def test_search_by_metric_and_param_is_compiled_not_evaluated(home):
    a = tracking.create_run("s", params={"max_depth": 6})
    b = tracking.create_run("s", params={"max_depth": 3})
    c = tracking.create_run("s", params={"max_depth": 6})
    tracking.log_metrics(a.id, {"auc": 0.85})
    tracking.log_metrics(b.id, {"auc": 0.9})
    tracking.log_metrics(c.id, {"auc": 0.7})

    found = tracking.search_runs("metrics.auc > 0.8 and params.max_depth = 6")
    assert [r.id for r in found] == [a.id]
    assert {r.id for r in tracking.search_runs("metrics.auc >= 0.7 and experiment = s")} == {a.id, b.id, c.id}
    assert tracking.search_runs("status = STARTING and metrics.auc < 0.75")[0].id == c.id


@pytest.mark.parametrize("query", [
    "metrics.auc >", "metrics.auc > 0.8 or params.x = 1", "__import__('os') = 1", "metrics.auc > high",
    "foo.bar = 1", "metrics.auc > 0.8; DROP TABLE runs",
])
def test_bad_searches_are_rejected_with_the_grammar(home, query):
    with pytest.raises(ValidationError, match="metrics"):
        tracking.search_runs(query)


def test_compare_lines_up_params_and_metrics(home):
    a = tracking.create_run("c", params={"lr": 0.1})
    b = tracking.create_run("c", params={"lr": 0.2, "depth": 3})
    tracking.log_metrics(a.id, {"auc": 0.8})
    table = tracking.compare_runs([a.id, b.id])
    assert table["params"] == {"depth": [None, 3], "lr": [0.1, 0.2]}
    assert table["metrics"] == {"auc": [0.8, None]}


def test_batched_logging_writes_thousands_of_points_in_one_call(home):
    run = tracking.create_run("b")
    assert tracking.log_metrics(run.id, [("x", float(i), i) for i in range(5000)]) == 5000
    assert tracking.get_run(run.id).metrics["x"] == 4999.0


def test_non_numeric_metric_values_and_unknown_runs_are_refused(home):
    run = tracking.create_run("v")
    with pytest.raises(ValidationError, match="not a number"):
        tracking.log_metric(run.id, "auc", "high")  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match="no run"):
        tracking.get_run("run_missing")


def test_start_run_marks_completed_or_failed(home):
    with tracking.start_run("nb") as run:
        tracking.log_metrics(run.id, {"loss": 1.0})
    assert tracking.get_run(run.id).status == "COMPLETED"
    with pytest.raises(RuntimeError), tracking.start_run("nb") as failing:
        raise RuntimeError("boom")
    assert tracking.get_run(failing.id).status == "FAILED"


def test_tracking_and_search_on_postgresql(home, pg_url, monkeypatch):
    from loopml.config import reset_settings

    monkeypatch.setenv("LOOPML_DB", pg_url)
    reset_settings()
    a = tracking.create_run("pg", params={"max_depth": 6})
    tracking.log_metrics(a.id, [("auc", 0.7, 1), ("auc", 0.85, 2), ("auc", 0.6, 0)])
    assert tracking.get_run(a.id).metrics == {"auc": 0.85}
    assert [r.id for r in tracking.search_runs("metrics.auc > 0.8 and params.max_depth = 6")] == [a.id]
    reset_settings()


def _sortable_runs() -> dict[str, str]:
    from loopml import train

    ids = {}
    for name, auc, alpha in (("a", 0.81, 0.1), ("b", None, 10.0), ("c", 0.93, 2.0), ("d", 0.85, "auto")):
        run = train.create_run("sorting", name=name, params={"alpha": alpha})
        if auc is not None:
            train.log_metrics(run.id, {"validation:auc": auc}, step=0)
        ids[name] = run.id
    train.create_run("sorting", name="trial", parent_id=ids["a"])
    return ids


def test_runs_sort_by_a_metric_or_a_parameter_with_missing_values_last(any_home):
    from loopml import train

    _sortable_runs()
    names = lambda runs: [r.name for r in runs]  # noqa: E731
    assert names(train.list_runs(experiment="sorting", top_level=True, order_by="metrics.validation:auc DESC")) \
        == ["c", "d", "a", "b"]
    assert names(train.list_runs(experiment="sorting", top_level=True, order_by="metrics.validation:auc")) \
        == ["a", "d", "c", "b"]
    assert names(train.list_runs(experiment="sorting", top_level=True, order_by="params.alpha ASC")) \
        == ["a", "c", "b", "d"]  # numbers as numbers (2 < 10), then text
    assert names(train.search_runs("metrics.validation:auc > 0.8", top_level=True, order_by="name DESC")) \
        == ["d", "c", "a"]
    assert "trial" in names(train.list_runs(experiment="sorting"))


@pytest.mark.parametrize("bad", ["metrics.", "secret_column", "name sideways", "params.a; drop table runs"])
def test_an_unknown_order_says_what_is_allowed(home, bad):
    from loopml import train

    with pytest.raises(ValidationError, match="order runs by"):
        train.list_runs(order_by=bad)
