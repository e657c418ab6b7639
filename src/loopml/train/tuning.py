"""Hyperparameter tuning on Optuna: every trial is a tracked training job.

The Optuna study lives in the metadata database (Optuna's own tables next to loopml's), so trials run by
several processes share one study. Trials report the objective metric's series while they run, and the
pruner (median or Hyperband) stops unpromising ones early.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from loopml.core import checks, context
from loopml.errors import NotFoundError, ValidationError
from loopml.train import jobs, tracking
from loopml.train._records import COMPLETED, STOPPED, Run


@dataclass(frozen=True)
class Int:
    """An integer range ``[low, high]`` (``log`` for a log-uniform search)."""

    low: int
    high: int
    step: int = 1
    log: bool = False


@dataclass(frozen=True)
class Float:
    """A float range ``[low, high]`` (``log`` for a log-uniform search)."""

    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class Categorical:
    """A choice among values."""

    choices: tuple[Any, ...]


@dataclass(frozen=True)
class TuningResult:
    """The outcome of a tuning job: its run, the trial table and the best trial."""

    run_id: str
    study_name: str
    trials: list[dict[str, Any]] = field(default_factory=list)
    best_run_id: str | None = None
    best_value: float | None = None
    best_params: dict[str, Any] = field(default_factory=dict)
    best_model_digest: str | None = None
    stopped_early: bool = False


OPTUNA_SCHEMA = "loopml_optuna"


def _storage() -> Any:
    """Optuna's RDB storage beside the metadata database.

    Optuna keeps its own Alembic ``alembic_version`` table, which must not be shared with loopml's
    migrations: on SQLite the study lives in ``<db>.optuna.db`` next to the metadata file; on PostgreSQL
    in the ``loopml_optuna`` schema of the same database. Either way every process (and machine) that
    reaches the metadata database shares the study.
    """
    import optuna
    import sqlalchemy as sa

    url = sa.make_url(context.get_settings().db_url)
    db = context.get_db()
    if url.get_backend_name() == "sqlite":
        optuna_url = url.set(database=f"{url.database}.optuna.db")
        kwargs: dict[str, Any] = {"connect_args": {"timeout": 30}}
    else:
        with db.engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {OPTUNA_SCHEMA}")
        optuna_url = url
        kwargs = {"connect_args": {"options": f"-csearch_path={OPTUNA_SCHEMA}"}}
    return optuna.storages.RDBStorage(optuna_url.render_as_string(hide_password=False), engine_kwargs=kwargs)


def _sampler(name: str, space: dict[str, Any], seed: int | None) -> Any:
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler(_grid(space), seed=seed)
    raise ValidationError(f"sampler {name!r} is not one of tpe, random, grid")


def _grid(space: dict[str, Any]) -> dict[str, list[Any]]:
    grid = {}
    for name, dim in space.items():
        if isinstance(dim, Categorical):
            grid[name] = list(dim.choices)
        elif isinstance(dim, Int):
            grid[name] = list(range(dim.low, dim.high + 1, dim.step))
        else:
            raise ValidationError(f"grid search needs Int or Categorical dimensions; {name} is a Float range")
    return grid


def _pruner(name: str | None) -> Any:
    import optuna

    if name in (None, "none"):
        return optuna.pruners.NopPruner()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=2)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner()
    raise ValidationError(f"pruner {name!r} is not one of median, hyperband, none")


def _suggest(trial: Any, space: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, dim in space.items():
        if isinstance(dim, Int):
            out[name] = trial.suggest_int(name, dim.low, dim.high, step=dim.step, log=dim.log)
        elif isinstance(dim, Float):
            out[name] = trial.suggest_float(name, dim.low, dim.high, log=dim.log)
        elif isinstance(dim, Categorical):
            out[name] = trial.suggest_categorical(name, list(dim.choices))
        else:
            raise ValidationError(f"search dimension {name} must be Int, Float or Categorical, not {dim!r}")
    return out


SAMPLERS = ("tpe", "random", "grid")
MAX_PARALLEL = 64
TUNE_CONSTRAINTS: dict[str, list[checks.Constraint]] = {
    "space": [checks.Typed(dict, "dict")], "direction": [checks.Options("maximize", "minimize")],
    "max_trials": [checks.Interval(int, 1, 100_000)], "max_parallel": [checks.Interval(int, 1, MAX_PARALLEL)],
    "sampler": [checks.Options(*SAMPLERS)], "pruner": [checks.Options("median", "hyperband", "none"), checks.NONE],
    "early_stopping_trials": [checks.Interval(int, 1, 100_000), checks.NONE], "seed": jobs.SEED,
    "stream": [checks.Typed(bool, "bool")],
    "channels": [checks.Typed(dict, "dict"), checks.NONE], "hyperparameters": [checks.Typed(dict, "dict"), checks.NONE],
    "resources": [checks.Typed(dict, "dict"), checks.NONE],
}
"""What :func:`tune` accepts (the objective: the name of a metric the trials log; the search space: each
dimension by :func:`check_space`; the experiment name: :mod:`loopml.core.names`)."""


@checks.validate_params(TUNE_CONSTRAINTS)
def tune(
    space: dict[str, Any], *, objective: str, direction: str = "maximize", script: str | None = None,
    algorithm: str | None = None, channels: dict[str, Any] | None = None,
    hyperparameters: dict[str, Any] | None = None, max_trials: int = 20, max_parallel: int = 1,
    sampler: str = "tpe", pruner: str | None = "median", early_stopping_trials: int | None = None,
    warm_start_from: str | None = None, experiment: str = "tuning", seed: int | None = 0,
    metric_definitions: list[dict[str, str]] | None = None, stream: bool = False,
    resources: dict[str, Any] | None = None, on_trial: Callable[[dict[str, Any]], None] | None = None,
) -> TuningResult:
    """Search hyperparameters with trials run as concurrent training jobs.

    Args:
        space: ``{"max_depth": Int(2, 8), "eta": Float(0.01, 0.3, log=True), "booster": Categorical(...)}``.
        objective: the metric to optimize, as the trials log it (e.g. ``validation:auc``).
        direction: ``maximize`` or ``minimize``.
        script, algorithm, channels, hyperparameters: what each trial runs (as :func:`loopml.train.run`);
            ``hyperparameters`` are fixed, the search space is laid over them.
        max_trials: the number of trials.
        max_parallel: trials running at the same time; on a cluster (``LOOPML_CLUSTER``) each trial is a
            Ray task and this is bounded by how many trials the cluster's CPUs can hold at once.
        sampler: ``tpe`` (default), ``random`` or ``grid``.
        pruner: ``median`` (default), ``hyperband`` or None; prunes on the objective's intermediate values.
        early_stopping_trials: stop when this many finished trials in a row did not improve the best.
        warm_start_from: an earlier tuning run id whose finished trials seed this study.
        experiment: the experiment of the tuning run and its trials.
        seed: the sampler's seed.
        metric_definitions: regex metrics over the trials' output (see :func:`loopml.train.run`).
        stream: echo trial logs.
        resources: what each trial needs of a cluster node (as :func:`loopml.train.run`).
        on_trial: called with each finished trial's row (trial, run_id, status, pruned, value, parameters),
            e.g. to show a live trial table.

    Returns:
        The trial table and the best trial's run and model.

    Raises:
        ValidationError: a bad space, or no trial logged the ``objective`` metric (after the first trial).
    """
    import optuna

    _check(space, objective=objective, sampler=sampler, warm_start_from=warm_start_from)
    jobs.check(script, algorithm=algorithm, channels=channels, metric_definitions=metric_definitions,
               hyperparameters={**(hyperparameters or {}), **_sample(space)})
    max_parallel = _cluster_bound(max_parallel, resources)
    parent = tracking.create_run(experiment, kind="tuning", status="TRAINING", params={
        "objective": objective, "direction": direction, "max_trials": max_trials, "max_parallel": max_parallel,
        "sampler": sampler, "pruner": pruner or "none", "space": {k: repr(v) for k, v in space.items()}})
    study_name = f"loopml-{parent.id}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=study_name, storage=_storage(), direction=direction,
                                sampler=_sampler(sampler, space, seed), pruner=_pruner(pruner))
    if warm_start_from:
        _warm_start(study, warm_start_from)
    job = dict(script=script, algorithm=algorithm, channels=channels, hyperparameters=hyperparameters or {},
               experiment=experiment, metric_definitions=metric_definitions, stream=stream, resources=resources)
    loop = _Loop(study, space, objective, direction, job, parent.id, early_stopping_trials, on_trial)
    try:
        loop.run(max_trials, max_parallel)
    except BaseException as exc:
        tracking.set_status(parent.id, "FAILED", reason=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    return _finish(parent.id, study_name, loop)


def _cluster_bound(max_parallel: int, resources: dict[str, Any] | None) -> int:
    """On a cluster, no more trials at once than its CPUs hold (each trial asks for ``cpus``, default 1)."""
    if not context.get_settings().cluster:
        return max_parallel
    from loopml.core import cluster

    per_trial = float((resources or {}).get("cpus", 1.0)) or 1.0
    return max(1, min(max_parallel, int(cluster.total("CPU") // per_trial)))


def _check(space: dict[str, Any], *, objective: str, sampler: str, warm_start_from: str | None) -> None:
    """The arguments of :func:`tune` its declaration (:data:`TUNE_CONSTRAINTS`) cannot say, checked before a
    run is recorded or a trial starts."""
    if not isinstance(objective, str) or not objective.strip():
        raise ValidationError(f"objective {objective!r} must name the metric trials log, e.g. validation:auc")
    checks.text(objective, "objective")
    check_space(space)
    if sampler == "grid":
        _grid(space)
    if warm_start_from is not None:
        tracking.get_run(checks.text(warm_start_from, "warm_start_from"))


def check_space(space: dict[str, Any]) -> None:
    """Each dimension is an :class:`Int`, :class:`Float` or :class:`Categorical` with a usable range.

    Raises:
        ValidationError: an empty space, an unknown kind, ``low > high``, a non-finite bound, a log range
            that does not start above 0, or a choice list that is empty.
    """
    if not space:
        raise ValidationError("the search space is empty; give at least one dimension, e.g. max_depth=int:2:8")
    for name, dim in space.items():
        if isinstance(dim, Categorical):
            if not dim.choices:
                raise ValidationError(f"search dimension {name} has no choices; e.g. booster=cat:gbtree,dart")
            continue
        if not isinstance(dim, Int | Float):
            raise ValidationError(f"search dimension {name} must be Int, Float or Categorical, not {dim!r}")
        low = checks.number(dim.low, f"the low end of {name}")
        checks.number(dim.high, f"the high end of {name}", low=low)
        if dim.log and low <= 0:
            raise ValidationError(f"search dimension {name} is log-scaled, so its low end must be above 0, not {low:g}")
        if isinstance(dim, Int):
            checks.integer(dim.step, f"the step of {name}", low=1)


def parse_space(specs: list[str]) -> dict[str, Any]:
    """A search space from text: ``max_depth=int:2:8``, ``eta=float:0.01:0.3:log``, ``booster=cat:gbtree,dart``.

    Raises:
        ValidationError: a spec that is not ``NAME=KIND:...`` in one of those forms, with the forms shown.
    """
    space: dict[str, Any] = {}
    for spec in specs:
        space.update([_parse_dimension(spec)])
    check_space(space)
    return space


_FORMS = "NAME=int:LOW:HIGH[:log], NAME=float:LOW:HIGH[:log] or NAME=cat:A,B"


def _parse_dimension(spec: str) -> tuple[str, Any]:
    name, sep, rest = spec.partition("=")
    kind, _, bounds = rest.partition(":")
    parts = bounds.split(":")
    try:
        if not sep or not name.strip():
            raise ValueError("no NAME=")
        if kind == "cat":
            return name, Categorical(tuple(c for c in bounds.split(",") if c))
        if kind in ("int", "float") and len(parts) in (2, 3) and parts[2:] in ([], ["log"]):
            if kind == "int":
                return name, Int(int(parts[0]), int(parts[1]), log=parts[2:] == ["log"])
            return name, Float(float(parts[0]), float(parts[1]), log=parts[2:] == ["log"])
    except ValueError as exc:
        raise ValidationError(f"search dimension {spec!r} does not parse ({exc}); use {_FORMS}") from exc
    raise ValidationError(f"search dimension {spec!r} does not parse; use {_FORMS}")


def _sample(space: dict[str, Any]) -> dict[str, Any]:
    """One point of the space (the low ends, the first choices), to check names and types before a trial."""
    return {name: dim.choices[0] if isinstance(dim, Categorical) else dim.low for name, dim in space.items()}


def _warm_start(study: Any, run_id: str) -> None:
    import optuna

    try:
        earlier = optuna.load_study(study_name=f"loopml-{run_id}", storage=_storage())
    except KeyError as exc:
        raise NotFoundError(f"no tuning job {run_id!r} to warm-start from; pass a tuning run id") from exc
    study.add_trials([t for t in earlier.trials if t.state == optuna.trial.TrialState.COMPLETE])


class _Loop:
    """Ask/tell over a thread pool: each trial is a training job supervised by its own thread."""

    def __init__(self, study: Any, space: dict[str, Any], objective: str, direction: str, job: dict[str, Any],
                 parent_id: str, patience: int | None, on_trial: Any = None) -> None:
        self.study, self.space, self.objective, self.direction = study, space, objective, direction
        self.job, self.parent_id, self.patience = job, parent_id, patience
        self.rows: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.best: float | None = None
        self.since_best = 0
        self.stopped_early = False
        self.on_trial = on_trial

    def run(self, max_trials: int, max_parallel: int) -> None:
        pending: set[Future[None]] = set()
        started = 0
        with ThreadPoolExecutor(max_parallel) as pool:
            while started < max_trials or pending:
                while started < max_trials and len(pending) < max_parallel and not self.stopped_early:
                    pending.add(pool.submit(self._trial, self.study.ask()))
                    started += 1
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()
                if self.stopped_early:
                    started = max_trials

    def _trial(self, trial: Any) -> None:
        import optuna

        params = _suggest(trial, self.space)
        reporter = _Reporter(trial, self.objective)
        run = jobs.run(self.job["script"], algorithm=self.job["algorithm"], channels=self.job["channels"],
                       hyperparameters={**self.job["hyperparameters"], **params}, experiment=self.job["experiment"],
                       parent_id=self.parent_id, name=f"trial-{trial.number}", stream=self.job["stream"],
                       metric_definitions=self.job["metric_definitions"], should_stop=reporter,
                       tags={"trial": str(trial.number)}, resources=self.job["resources"])
        value = run.metrics.get(self.objective)
        if run.status == STOPPED and run.status_reason == "Pruned":
            self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        elif run.status != COMPLETED or value is None or math.isnan(value):
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            self._check_objective(run)
        else:
            self.study.tell(trial, value)
            self._progress(value)
        row = {"trial": trial.number, "run_id": run.id, "status": run.status,
               "pruned": run.status_reason == "Pruned", "value": value, **params}
        with self.lock:
            self.rows.append(row)
            if self.on_trial is not None:
                self.on_trial(dict(row))

    def _check_objective(self, run: Run) -> None:
        if run.status == COMPLETED and self.objective not in run.metrics:
            logged = ", ".join(sorted(run.metrics)) or "none"
            raise ValidationError(
                f"trial run {run.id} logged no metric {self.objective!r} (it logged: {logged}); set "
                f"objective to one of those, or log it with loopml.log_metric / a metric definition",
                objective=self.objective)

    def _progress(self, value: float) -> None:
        with self.lock:
            better = self.best is None or (value > self.best if self.direction == "maximize" else value < self.best)
            self.best, self.since_best = (value, 0) if better else (self.best, self.since_best + 1)
            if self.patience and self.since_best >= self.patience:
                self.stopped_early = True


class _Reporter:
    """Polled by the job supervisor: reports new objective values to Optuna and asks whether to prune."""

    def __init__(self, trial: Any, objective: str) -> None:
        self.trial, self.objective, self.seen, self.last_poll = trial, objective, -1, 0.0

    def __call__(self, run_id: str) -> str | None:
        if time.monotonic() - self.last_poll < 0.5:
            return None
        self.last_poll = time.monotonic()
        for point in tracking.metric_history(run_id, self.objective):
            if point.step > self.seen and point.value is not None:
                self.trial.report(point.value, point.step)
                self.seen = point.step
        return "Pruned" if self.seen >= 0 and self.trial.should_prune() else None


def _finish(run_id: str, study_name: str, loop: _Loop) -> TuningResult:
    rows = sorted(loop.rows, key=lambda r: r["trial"])
    scored = [r for r in rows if r["status"] == COMPLETED and r["value"] is not None]
    best = (max if loop.direction == "maximize" else min)(scored, key=lambda r: r["value"]) if scored else None
    best_run = tracking.get_run(best["run_id"]) if best else None
    tracking.log_params(run_id, {"trials": len(rows)})
    if best is not None:
        tracking.log_metrics(run_id, {loop.objective: best["value"]})
    tracking.set_status(run_id, COMPLETED, reason="early stop" if loop.stopped_early else None,
                        outputs={"best_run": best and best["run_id"], "model": best_run and best_run.model_digest,
                                 "study": study_name},
                        model_digest=best_run and best_run.model_digest)
    return TuningResult(
        run_id=run_id, study_name=study_name, trials=rows, best_run_id=best["run_id"] if best is not None else None,
        best_value=best["value"] if best is not None else None,
        best_params={k: v for k, v in (best or {}).items() if k in loop.space},
        best_model_digest=best_run.model_digest if best_run is not None else None, stopped_early=loop.stopped_early)
