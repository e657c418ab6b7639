from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

from loopml.data import Recipe, load_recipe, register_dataset, save_recipe
from loopml.data.pipeline_io import load_pipeline
from loopml.errors import NotFoundError, UnsafeModelError, ValidationError
from tests.data.conftest import churn_frame

RECIPE_YAML = """
steps:
  - {op: join, dataset: plans, on: plan, columns: [price]}
  - {op: filter, where: "tenure >= 3"}
  - {name: fill_spend, op: impute, columns: [spend], strategy: median}
  - {op: derive, column: spend_per_month, expr: "spend / nullif(tenure, 0)"}
  - {op: clip, columns: [spend_per_month], upper: 50}
  - {op: log, columns: [spend]}
  - {op: onehot, columns: [plan]}
  - {op: scale, columns: [tenure, price], method: standard}
  - {op: drop, columns: [customer_id]}
"""


def _frame() -> pd.DataFrame:
    df = churn_frame()
    df.loc[::7, "spend"] = np.nan
    return df


def test_recipe_fits_transforms_and_serves_unseen_categories(home: Path) -> None:
    register_dataset("plans", pd.DataFrame({"plan": ["basic", "pro", "team"], "price": [10.0, 30.0, 90.0]}))
    recipe = Recipe.from_yaml(RECIPE_YAML)
    train = recipe.fit_transform(_frame(), target="churned")
    assert len(train) == int((churn_frame().tenure >= 3).sum())
    assert list(train.columns[-1:]) == ["churned"] and "customer_id" not in train.columns
    assert {"plan_basic", "plan_pro", "plan_team", "spend_per_month"} <= set(train.columns)
    assert train.drop(columns="churned").notna().all().all()
    assert train["spend_per_month"].max() <= 50 and abs(train["tenure"].mean()) < 1e-9
    served = recipe.transform(pd.DataFrame({"customer_id": [9], "plan": ["enterprise"], "tenure": [12],
                                            "spend": [None], "price": [30.0]}))
    assert served[["plan_basic", "plan_pro", "plan_team"]].to_numpy().tolist() == [[0.0, 0.0, 0.0]]
    assert list(served.columns) == recipe.lineage_["output_columns"]
    assert recipe.lineage_["joins"][0]["dataset"] == "plans"


def test_save_and_load_with_lineage(home: Path) -> None:
    register_dataset("churn", churn_frame())
    recipe = Recipe([{"op": "ordinal", "columns": ["plan"]}, {"op": "bin", "columns": ["spend"], "bins": 4}])
    recipe.fit("churn", target="churned")
    digest = save_recipe(recipe)
    loaded = load_recipe(digest)
    assert loaded.lineage_["fitted_on"]["dataset"] == "churn" and loaded.steps == recipe.steps
    sample = churn_frame().head(20)
    pd.testing.assert_frame_equal(loaded.transform(sample), recipe.transform(sample))
    unseen = loaded.transform(sample.assign(plan="other"))
    assert set(unseen["plan"]) == {-1.0} and set(unseen["spend"]) <= {0.0, 1.0, 2.0, 3.0}


def _custom_code(x):
    return x


def test_untrusted_types_in_a_pipeline_are_refused() -> None:
    from sklearn.pipeline import FunctionTransformer, Pipeline

    data = sio.dumps(Pipeline([("f", FunctionTransformer(_custom_code))]))
    with pytest.raises(UnsafeModelError, match="not trusted"):
        load_pipeline(data)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as info:
        Recipe([{"op": "impute"}, {"op": "bogus"}, {"op": "scale", "columns": ["a"], "method": "zscore"},
                {"op": "impute", "columns": ["a"], "strategy": "constant"}, "nonsense",
                {"op": "derive", "column": "r", "expr": "avg(x) OVER ()"}])
    errors = info.value.errors
    assert len(errors) == 6
    assert "step 0 (impute): missing 'columns'" in errors[0] and "unknown op 'bogus'" in errors[1]
    assert "method 'zscore' is not one of" in errors[2] and "needs a 'fill_value'" in errors[3]
    assert "OVER" in errors[5]


def test_data_steps_must_come_first() -> None:
    with pytest.raises(ValidationError, match=r"\['2_filter'\] are training-time data steps"):
        Recipe([{"op": "log", "columns": ["a"]}, {"op": "drop", "columns": ["b"]}, {"op": "filter", "where": "a > 0"}])
    recipe = Recipe([{"op": "filter", "where": "a > 0"}, {"op": "log", "columns": ["a"]}])
    assert [s["op"] for s in recipe.data_steps] == ["filter"] and [s["op"] for s in recipe.row_steps] == ["log"]


def test_yaml_round_trip_and_errors(tmp_path: Path) -> None:
    recipe = Recipe([{"op": "rename", "mapping": {"a": "b"}}, {"op": "cast", "types": {"b": "float"}}])
    assert Recipe.from_yaml(recipe.to_yaml()).steps == recipe.steps
    (tmp_path / "r.yaml").write_text(recipe.to_yaml())
    assert Recipe.from_yaml(tmp_path / "r.yaml").steps == recipe.steps
    with pytest.raises(NotFoundError, match="does not exist"):
        Recipe.from_yaml(tmp_path / "missing.yaml")
    with pytest.raises(ValidationError, match="not valid YAML"):
        Recipe.from_yaml("- {op: [")


def test_serving_input_missing_a_column_is_a_clear_error() -> None:
    recipe = Recipe([{"op": "clip", "columns": ["x"], "lower": 0}])
    recipe.fit(pd.DataFrame({"x": [1.0, -2.0]}))
    with pytest.raises(ValidationError, match=r"ClipColumns needs columns \['x'\]"):
        recipe.transform(pd.DataFrame({"y": [1.0]}))
    with pytest.raises(ValidationError, match="not fitted"):
        Recipe([{"op": "log", "columns": ["x"]}]).transform(pd.DataFrame({"x": [1]}))


def test_join_refuses_duplicate_keys_and_unknown_datasets(home: Path) -> None:
    register_dataset("dupes", pd.DataFrame({"plan": ["pro", "pro"], "price": [1.0, 2.0]}))
    with pytest.raises(ValidationError, match="not unique, so the join would duplicate training rows"):
        Recipe([{"op": "join", "dataset": "dupes", "on": "plan"}]).fit(churn_frame())
    with pytest.raises(NotFoundError, match="no dataset named 'ghost'"):
        Recipe([{"op": "join", "dataset": "ghost", "on": "plan"}]).fit(churn_frame())


def test_yaml_text_that_starts_with_a_comment_is_yaml_not_a_path(tmp_path: Path) -> None:
    text = "# fill, then scale\n- {op: impute, columns: [x], strategy: median}\n- {op: scale, columns: [x]}\n"
    assert [s["op"] for s in Recipe.from_yaml(text).steps] == ["impute", "scale"]
    assert Recipe.from_yaml("- {op: log, columns: [x]}").steps[0]["op"] == "log"
    (tmp_path / "r.yaml").write_text(text)
    assert len(Recipe.from_yaml(tmp_path / "r.yaml").steps) == 2
    assert len(Recipe.from_yaml(str(tmp_path / "r.yaml")).steps) == 2
    with pytest.raises(NotFoundError, match="does not exist"):
        Recipe.from_yaml(str(tmp_path / "missing.yml"))


def test_fit_takes_a_dataset_at_a_version(home: Path) -> None:
    register_dataset("sales", pd.DataFrame({"x": [0.0, 10.0]}))
    register_dataset("sales", pd.DataFrame({"x": [0.0, 100.0]}))
    recipe = Recipe([{"op": "scale", "columns": ["x"], "method": "minmax"}]).fit("sales@1")
    assert recipe.lineage_["fitted_on"]["version"] == 1
    assert recipe.transform(pd.DataFrame({"x": [5.0]}))["x"].tolist() == [0.5]
    assert Recipe([{"op": "log", "columns": ["x"]}]).fit("sales").lineage_["fitted_on"]["version"] == 2
    with pytest.raises(ValidationError, match="NAME@VERSION"):
        Recipe([{"op": "log", "columns": ["x"]}]).fit("sales@latest")
    with pytest.raises(NotFoundError, match="no version 9"):
        Recipe([{"op": "log", "columns": ["x"]}]).fit("sales@9")
