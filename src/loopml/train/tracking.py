"""Experiment tracking: experiments group runs; runs keep params, metric series, tags, inputs and outputs.

Metric logging is cheap: :func:`log_metrics` writes any number of points in one transaction, and the
in-job SDK (:mod:`loopml.train.sdk`) buffers single calls into such batches.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from loopml.core import audit, checks, clock, context, ids
from loopml.errors import ValidationError
from loopml.train import _records, _search
from loopml.train._records import KINDS, STATUSES, MetricPoint, Run
from loopml.train._tables import experiments, metrics, runs


def create_run(
    experiment: str = "default", *, kind: str = "training", name: str | None = None,
    params: dict[str, Any] | None = None, tags: dict[str, str] | None = None, parent_id: str | None = None,
    spec: dict[str, Any] | None = None, status: str = _records.STARTING, seed: int | None = None,
) -> Run:
    """Create a run in ``experiment`` (created on first use).

    Args:
        experiment: the experiment name.
        kind: training | tuning | processing | evaluation | transform.
        name: a display name.
        params: parameters (any JSON values; numbers are searchable as numbers).
        tags: string labels.
        parent_id: the tuning run a trial belongs to.
        spec: how to run it again (a training job's specification).
        status: the initial status.
        seed: the random seed the run uses.

    Returns:
        The new run.
    """
    if kind not in KINDS:
        raise ValidationError(f"run kind {kind!r} is not one of {', '.join(KINDS)}", kind=kind)
    actor = context.current_user()
    run_id = ids.new_id("run")
    with context.get_db().write() as conn:
        exp_id = _records.ensure_experiment(conn, experiment, actor=actor)
        _records.insert_run(conn, dict(
            id=run_id, experiment_id=exp_id, parent_id=parent_id, name=name, kind=kind, status=status,
            history=[_records.history_entry(status)], params=dict(params or {}), tags=dict(tags or {}),
            inputs={}, outputs={}, code={}, environment={}, spec=dict(spec or {}), seed=seed,
            created_by=actor, created_at=clock.now()))
        # a run's creation is bookkeeping; its outcome (and any model it made) is what the audit log records
    return Run(id=run_id, experiment=experiment, kind=kind, status=status, name=name, parent_id=parent_id,
               params=dict(params or {}), tags=dict(tags or {}), spec=dict(spec or {}), seed=seed,
               created_by=actor)


def get_run(run_id: str) -> Run:
    """The run ``run_id`` with its latest metric values.

    Raises:
        NotFoundError: no such run.
    """
    with context.get_db().read() as conn:
        return _records.load_run(conn, run_id)


def log_metric(run_id: str, key: str, value: float, *, step: int | None = None) -> None:
    """Record one metric value (one transaction; use :func:`log_metrics` in loops)."""
    log_metrics(run_id, [(key, value, step or 0)])


def log_metrics(run_id: str, values: Any, *, step: int | None = None) -> int:
    """Record many metric values in one transaction.

    Args:
        run_id: the run.
        values: ``{"auc": 0.9, "loss": 0.3}`` (all at ``step``), or ``[(key, value, step), …]``, or
            ``[{"key", "value", "step", "ts"}, …]``.
        step: the step for the dict form (default 0).

    Returns:
        The number of points written.
    """
    points = _records.normalize_points(values, step=step)
    with context.get_db().write() as conn:
        _records.insert_points(conn, run_id, points)
    return len(points)


def log_params(run_id: str, params: dict[str, Any]) -> None:
    """Add or replace parameters of a run."""
    with context.get_db().write() as conn:
        current = conn.execute(sa.select(runs.c.params).where(runs.c.id == run_id)).scalar()
        if current is None:
            raise ValidationError(f"no run {run_id!r} to log parameters to; create it first")
        _records.update_run(conn, run_id, params={**current, **params})
        _records.insert_params(conn, run_id, params)


def set_tags(run_id: str, tags: dict[str, str]) -> None:
    """Add or replace string tags of a run."""
    with context.get_db().write() as conn:
        current = conn.execute(sa.select(runs.c.tags).where(runs.c.id == run_id)).scalar()
        if current is None:
            raise ValidationError(f"no run {run_id!r} to tag; create it first")
        _records.update_run(conn, run_id, tags={**current, **{k: str(v) for k, v in tags.items()}})


def set_status(run_id: str, status: str, *, reason: str | None = None, **values: Any) -> None:
    """Move a run to ``status`` (kept in its history), updating other columns at the same time."""
    with context.get_db().write() as conn:
        _records.append_status(conn, run_id, status, reason, **values)
        if status in _records.TERMINAL:
            audit.append(conn, actor=context.current_user(), action=f"run.{status.lower()}",
                         resource=f"run:{run_id}", details={"reason": reason})


def metric_history(run_id: str, key: str) -> list[MetricPoint]:
    """Every value of metric ``key`` of a run, ordered by step then time."""
    query = (sa.select(metrics.c.key, metrics.c.step, metrics.c.value, metrics.c.ts)
             .where(metrics.c.run_id == run_id, metrics.c.key == key)
             .order_by(metrics.c.step, metrics.c.ts, metrics.c.id))
    with context.get_db().read() as conn:
        return [MetricPoint(r.key, r.step, r.value, r.ts) for r in conn.execute(query)]


def list_runs(
    *, experiment: str | None = None, kind: str | None = None, status: str | None = None,
    parent_id: str | None = None, top_level: bool = False, order_by: str | None = None, limit: int = 100,
) -> list[Run]:
    """Runs, newest first (or by ``order_by``), optionally filtered.

    Args:
        experiment, kind, status, parent_id: keep the runs that match.
        top_level: leave out the runs that belong to another (the trials of a tuning study).
        order_by: ``metrics.<key>``, ``params.<key>``, ``created_at``, ``ended_at``, ``name``, ``status``, ``kind``
            or ``compute_seconds``, optionally followed by ``ASC`` or ``DESC``; runs without the value come last.
        limit: at most this many runs.
    """
    limit, _ = checks.page(limit)
    return _select(_filters(experiment, kind, status, parent_id, top_level), limit=limit, order_by=order_by)


def search_runs(query: str, *, experiment: str | None = None, top_level: bool = False, order_by: str | None = None,
                limit: int = 1000) -> list[Run]:
    """Runs matching a search such as ``metrics.auc > 0.8 and params.max_depth = 6`` (newest first, or by
    ``order_by`` as in :func:`list_runs`).

    Raises:
        ValidationError: the search or the order does not parse; the message shows the grammar.
    """
    where = _search.compile_where(_search.parse(query))
    return _select([*where, *_filters(experiment, None, None, None, top_level)], limit=limit, order_by=order_by)


def compare_runs(run_ids: list[str]) -> dict[str, Any]:
    """A side-by-side table of runs: ``{"runs": [...ids], "params": {key: [v…]}, "metrics": {key: [v…]}}``."""
    found = [get_run(r) for r in run_ids]
    param_keys = sorted({k for r in found for k in r.params})
    metric_keys = sorted({k for r in found for k in r.metrics})
    return {
        "runs": [r.id for r in found],
        "status": [r.status for r in found],
        "params": {k: [r.params.get(k) for r in found] for k in param_keys},
        "metrics": {k: [r.metrics.get(k) for r in found] for k in metric_keys},
    }


def _filters(experiment: str | None, kind: str | None, status: str | None, parent_id: str | None,
             top_level: bool = False) -> list[Any]:
    out: list[Any] = [runs.c.parent_id.is_(None)] if top_level else []
    if kind is not None and kind not in KINDS:
        raise ValidationError(f"unknown run kind {kind!r}; kinds are {', '.join(KINDS)}")
    if status is not None and status not in STATUSES:
        raise ValidationError(f"unknown run status {status!r}; statuses are {', '.join(STATUSES)}")
    if experiment is not None:
        out.append(runs.c.experiment_id.in_(sa.select(experiments.c.id).where(experiments.c.name == experiment)))
    if kind is not None:
        out.append(runs.c.kind == kind)
    if status is not None:
        out.append(runs.c.status == status)
    if parent_id is not None:
        out.append(runs.c.parent_id == parent_id)
    return out


def _select(where: list[Any], *, limit: int, order_by: str | None = None) -> list[Run]:
    order = _search.order_terms(order_by) if order_by else [runs.c.created_at.desc(), runs.c.id.desc()]
    query = sa.select(runs).where(*where).order_by(*order).limit(limit)
    with context.get_db().read() as conn:
        return _records.rows_to_runs(conn, list(conn.execute(query)))


@contextlib.contextmanager
def start_run(experiment: str = "default", *, kind: str = "processing", name: str | None = None,
              params: dict[str, Any] | None = None, tags: dict[str, str] | None = None) -> Iterator[Run]:
    """Track work done in this process as a run: COMPLETED on normal exit, FAILED on an exception.

    Example:
        >>> with start_run("notebook", params={"lr": 0.1}) as run:  # doctest: +SKIP
        ...     log_metrics(run.id, {"loss": 0.3}, step=1)
    """
    run = create_run(experiment, kind=kind, name=name, params=params, tags=tags, status=_records.TRAINING)
    started = clock.now()
    try:
        yield run
    except BaseException as exc:
        set_status(run.id, _records.FAILED, reason=f"{type(exc).__name__}: {exc}"[:2000], ended_at=clock.now())
        raise
    seconds = (clock.now() - started).total_seconds()
    set_status(run.id, _records.COMPLETED, ended_at=clock.now(), started_at=started, compute_seconds=seconds)
