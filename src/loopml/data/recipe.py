"""Transform recipes: a declarative list of named transforms, compiled to a scikit-learn pipeline.

A recipe has two kinds of steps. *Data steps* (``filter``, ``join``) decide which rows and columns the
training data has; they run only at training time and must come first. *Row-level steps* (every other
op) compute each output row from its input row alone; they compile to a scikit-learn ``Pipeline`` that
is saved with the model and runs inside the endpoint, so training and serving transform alike.
"""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from sklearn.pipeline import Pipeline

from loopml.data import _io, _steps
from loopml.errors import NotFoundError, ValidationError


class Recipe:
    """A declarative, validated list of transforms.

    Args:
        steps: a list of mappings, each with an ``op`` and its arguments (see ``docs/data.md``), and an
            optional unique ``name``. Every problem in the list is reported at once.

    Raises:
        ValidationError: the steps are malformed (the message lists every problem).

    Example:
        >>> import pandas as pd
        >>> r = Recipe([{"op": "impute", "columns": ["x"], "strategy": "median"},
        ...             {"op": "scale", "columns": ["x"], "method": "minmax"}])
        >>> r.fit_transform(pd.DataFrame({"x": [0.0, None, 10.0]}))["x"].tolist()
        [0.0, 0.5, 1.0]
    """

    def __init__(self, steps: list[dict[str, Any]]) -> None:
        self.steps = _validate(copy.deepcopy(steps))
        self.pipeline_: Pipeline | None = None
        self.lineage_: dict[str, Any] = {}

    # -- construction and export -------------------------------------------------------------------
    @classmethod
    def from_yaml(cls, text_or_path: str | Path) -> Recipe:
        """A recipe from YAML text or a YAML file holding a list of steps (or ``{steps: [...]}``).

        A :class:`~pathlib.Path`, or a one-line string naming an existing file or ending in ``.yaml``/``.yml``,
        is read as a file; any other string (including YAML that starts with a comment) is YAML text.
        """
        path = _yaml_path(text_or_path)
        if path is not None and not path.is_file():
            raise NotFoundError(f"recipe file {str(path)!r} does not exist", path=str(path))
        try:
            data = yaml.safe_load(path.read_text() if path else str(text_or_path))
        except yaml.YAMLError as exc:
            raise ValidationError(f"the recipe is not valid YAML: {str(exc).splitlines()[0]}") from exc
        steps: Any = data.get("steps") if isinstance(data, dict) else data  # checked by _validate
        return cls(steps)

    def to_yaml(self) -> str:
        """The steps as YAML (``Recipe.from_yaml(r.to_yaml())`` gives the same recipe)."""
        text: str = yaml.safe_dump({"steps": self.steps}, sort_keys=False)
        return text

    @property
    def data_steps(self) -> list[dict[str, Any]]:
        """The training-time data steps (filter, join)."""
        return [s for s in self.steps if s["op"] in _steps.DATA_STEPS]

    @property
    def row_steps(self) -> list[dict[str, Any]]:
        """The row-level steps that go into the served pipeline."""
        return [s for s in self.steps if s["op"] not in _steps.DATA_STEPS]

    @property
    def pipeline(self) -> Pipeline:
        """The fitted scikit-learn pipeline of the row-level steps (what is saved with a model)."""
        if self.pipeline_ is None:
            raise ValidationError("the recipe is not fitted yet; call fit() first")
        return self.pipeline_

    # -- running -----------------------------------------------------------------------------------
    def prepare(self, df: pd.DataFrame) -> pd.DataFrame:
        """Apply the data steps (filters and joins) to training data."""
        joins: list[dict[str, Any]] = []
        for step in self.data_steps:
            df = _filter(df, step) if step["op"] == "filter" else _join(df, step, joins)
        self.lineage_["joins"] = joins
        return df

    def fit(self, data: pd.DataFrame | str, *, target: str | None = None) -> Recipe:
        """Fit the row-level steps on training data (after the data steps).

        Args:
            data: a DataFrame, or a catalog dataset as ``name`` (its latest version) or ``name@version``; the
                version used is recorded as lineage.
            target: the label column; it is kept out of the transforms.

        Returns:
            The recipe itself, fitted.
        """
        self.fit_transform(data, target=target)
        return self

    def fit_transform(self, data: pd.DataFrame | str, *, target: str | None = None) -> pd.DataFrame:
        """Fit, and return the transformed training data (with ``target`` as the last column, if given)."""
        df = self.prepare(self._input(data))
        y: Any = None
        if target is not None:
            if target not in df.columns:
                raise ValidationError(f"target {target!r} is not a column; columns: {list(df.columns)[:30]}")
            y, df = df[target], df.drop(columns=[target])
        pipeline = Pipeline(_steps.compile_steps(self.row_steps) or [("identity", "passthrough")])
        out = _run(lambda: pipeline.fit_transform(df, y))
        self.pipeline_ = pipeline
        self.lineage_.update(target=target, input_columns=[str(c) for c in df.columns],
                             output_columns=[str(c) for c in out.columns])
        return out.assign(**{target: y.to_numpy()}) if target is not None else out

    def transform(self, df: pd.DataFrame) -> pd.DataFrame:
        """Apply the fitted row-level steps (what the endpoint does to each request)."""
        target = self.lineage_.get("target")
        if target is not None and target in df.columns:
            df = df.drop(columns=[target])
        return _run(lambda: self.pipeline.transform(df))

    def _input(self, data: pd.DataFrame | str) -> pd.DataFrame:
        if isinstance(data, pd.DataFrame):
            self.lineage_["fitted_on"] = {"content_hash": _io.content_hash(_io.to_arrow(data))}
            return data
        from loopml.data.catalog import get_dataset, load_dataset

        info = get_dataset(*_dataset_ref(data))
        self.lineage_["fitted_on"] = {"dataset": info.name, "version": info.version,
                                      "content_hash": info.content_hash}
        return load_dataset(info.name, info.version)

    def __repr__(self) -> str:
        return f"Recipe({[s['name'] for s in self.steps]}, fitted={self.pipeline_ is not None})"


def _yaml_path(value: str | Path) -> Path | None:
    """The file ``value`` names, or None when it is YAML text."""
    if isinstance(value, Path):
        return value
    text = str(value)
    if "\n" in text.strip() or not text.strip():
        return None
    if text.strip().lower().endswith((".yaml", ".yml")) or Path(text).is_file():
        return Path(text)
    return None


def _dataset_ref(ref: str) -> tuple[str, int | None]:
    """``name`` or ``name@version`` as (name, version)."""
    name, sep, version = str(ref).partition("@")
    if not sep:
        return name, None
    if not version.isdigit():
        raise ValidationError(f"dataset reference {ref!r} is not NAME or NAME@VERSION (a version is a number, "
                              "e.g. churn@2)", ref=ref)
    return name, int(version)


def _validate(steps: Any) -> list[dict[str, Any]]:
    if not isinstance(steps, list) or not steps:
        raise ValidationError(f"a recipe is a non-empty list of steps, got {steps!r:.80}")
    for step in steps:
        if isinstance(step, dict) and True in step:  # YAML 1.1 reads a bare `on:` key as true
            step["on"] = step.pop(True)
    errors = [msg for i, step in enumerate(steps) for msg in _steps.check_step(i, step)]
    if not errors:
        for i, step in enumerate(steps):
            step.setdefault("name", f"{i}_{step['op']}")
        names = [s["name"] for s in steps]
        errors += [f"step name {n!r} is used more than once" for n in sorted({n for n in names if names.count(n) > 1})]
        errors += [f"step name {n!r} must be text without '__' or '+'" for n in names
                   if not isinstance(n, str) or "__" in n or "+" in n]
        first_row = next((i for i, s in enumerate(steps) if s["op"] not in _steps.DATA_STEPS), len(steps))
        late = [s["name"] for s in steps[first_row:] if s["op"] in _steps.DATA_STEPS]
        if late:
            errors.append(f"steps {late} are training-time data steps (filter, join); move them before "
                          "every row-level step")
    if errors:
        raise ValidationError("the recipe is invalid:\n  " + "\n  ".join(errors), errors=errors)
    return steps


def _run(call: Any) -> pd.DataFrame:
    try:
        return call()
    except ValidationError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise ValidationError(f"the recipe could not transform the data: {str(exc)[:300]}") from exc


def _filter(df: pd.DataFrame, step: dict[str, Any]) -> pd.DataFrame:
    from loopml.data.query import execute

    frame = df.reset_index(drop=True).assign(__loopml_row=np.arange(len(df)))
    query = f'SELECT "__loopml_row" FROM input WHERE ({step["where"]}) ORDER BY "__loopml_row"'
    rows = execute(query, {"input": _io.to_arrow(frame)}).column(0).to_numpy()
    return df.iloc[rows]


def _join(df: pd.DataFrame, step: dict[str, Any], joins: list[dict[str, Any]]) -> pd.DataFrame:
    from loopml.data.catalog import get_dataset, load_dataset

    info = get_dataset(step["dataset"], step.get("version"))
    right = load_dataset(info.name, info.version)
    on = [step["on"]] if isinstance(step["on"], str) else list(step["on"])
    missing = [c for c in on if c not in df.columns or c not in right.columns]
    if missing:
        raise ValidationError(f"join with {info.ref}: key columns {missing} are not on both sides", columns=missing)
    if right.duplicated(on).any():
        raise ValidationError(
            f"join with {info.ref}: its keys {on} are not unique, so the join would duplicate training rows; "
            "deduplicate the dataset first", dataset=info.name,
        )
    if step.get("columns"):
        right = right[on + [c for c in step["columns"] if c not in on]]
    joins.append({"dataset": info.name, "version": info.version, "content_hash": info.content_hash})
    return df.merge(right, on=on, how=step.get("how", "left"), validate="many_to_one")


# -- saving with lineage -----------------------------------------------------------------------------
def save_recipe(recipe: Recipe) -> str:
    """Store a fitted recipe as an artifact: its YAML, the skops-saved pipeline and its lineage.

    Returns:
        The artifact digest (``sha256:...``); load it back with :func:`load_recipe`.
    """
    from loopml.core import audit, context
    from loopml.core.integrity import record_artifact
    from loopml.data.pipeline_io import dump_pipeline

    files = {"recipe.yaml": recipe.to_yaml().encode(), "pipeline.skops": dump_pipeline(recipe.pipeline),
             "lineage.json": json.dumps(recipe.lineage_, sort_keys=True, default=str).encode()}
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files.items():
            (Path(tmp) / name).write_bytes(data)
        ref = context.get_artifacts().put_dir(tmp)
    user = context.current_user()
    with context.get_db().write() as conn:
        record_artifact(conn, ref, media_type="application/vnd.loopml.recipe+dir", actor=user)
        audit.append(conn, actor=user, action="recipe.save", resource=f"recipe:{ref.sha256}",
                     details={"steps": [s["name"] for s in recipe.steps], "lineage": recipe.lineage_})
    return ref.sha256


def load_recipe(digest: str) -> Recipe:
    """A fitted recipe from its artifact digest (hash verified; only trusted types are loaded).

    Raises:
        UnsafeModelError: the pipeline holds a type outside scikit-learn and :data:`TRUSTED_TYPES`.
    """
    from loopml.core import context
    from loopml.data.pipeline_io import load_pipeline

    with tempfile.TemporaryDirectory() as tmp:
        folder = context.get_artifacts().get_dir(digest, Path(tmp) / "r")
        recipe = Recipe.from_yaml((folder / "recipe.yaml").read_text())
        recipe.pipeline_ = load_pipeline((folder / "pipeline.skops").read_bytes())
        recipe.lineage_ = json.loads((folder / "lineage.json").read_text())
    return recipe
