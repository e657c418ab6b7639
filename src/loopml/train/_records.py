"""Values handed to users (runs, experiments, metric points) and the SQL that reads and writes them."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core import clock, ids, names
from loopml.errors import NotFoundError, ValidationError
from loopml.train._tables import experiments, latest_metrics, metrics, run_params, runs

KINDS = ("training", "tuning", "processing", "evaluation", "transform")
STARTING, TRAINING, INTERRUPTED = "STARTING", "TRAINING", "INTERRUPTED"
COMPLETED, FAILED, STOPPED = "COMPLETED", "FAILED", "STOPPED"
TERMINAL = (COMPLETED, FAILED, STOPPED)
STATUSES = (STARTING, TRAINING, INTERRUPTED, *TERMINAL)


@dataclass(frozen=True)
class Experiment:
    """A named group of runs."""

    id: str
    name: str
    description: str | None
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class MetricPoint:
    """One value of a metric series: the step, the value and the wall-clock time (epoch seconds)."""

    key: str
    step: int
    value: float | None
    ts: float


@dataclass(frozen=True)
class Run:
    """A tracked run (read-only view).

    Attributes:
        id: ``run_…``.
        experiment: the experiment name.
        kind: training | tuning | processing | evaluation | transform.
        status: STARTING | TRAINING | INTERRUPTED | COMPLETED | FAILED | STOPPED.
        history: every status change as ``{"status", "at", "reason"}``, oldest first.
        params, tags, inputs, outputs, code, environment: what the run used and produced.
        metrics: the latest value of each metric.
        model_digest: the model folder artifact (``sha256:…``) of a completed training run.
    """

    id: str
    experiment: str
    kind: str
    status: str
    name: str | None = None
    parent_id: str | None = None
    status_reason: str | None = None
    history: tuple[dict[str, Any], ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    code: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    spec: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float | None] = field(default_factory=dict)
    seed: int | None = None
    model_digest: str | None = None
    logs_digest: str | None = None
    compute_seconds: float = 0.0
    interrupted_seconds: float = 0.0
    attempts: int = 0
    error: str | None = None
    created_by: str = ""
    created_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def statuses(self) -> list[str]:
        """The status sequence, e.g. ``["STARTING", "TRAINING", "COMPLETED"]``."""
        return [h["status"] for h in self.history]

    def _repr_html_(self) -> str:
        from loopml.core.fragments import notebook
        from loopml.train.html import render_run

        return notebook(render_run(self))

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["history"] = list(self.history)
        for key in ("created_at", "started_at", "ended_at"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


# -- experiments ------------------------------------------------------------------------------------
def ensure_experiment(conn: Connection, name: str, *, actor: str) -> str:
    """The id of experiment ``name``, created when missing."""
    names.check("experiment", name, example="churn-tuning")
    key = (str(conn.engine.url), name)
    found = _EXPERIMENT_IDS.get(key) or conn.execute(
        sa.select(experiments.c.id).where(experiments.c.name == name)).scalar()
    if not found:
        found = ids.new_id("exp")
        conn.execute(experiments.insert().values(id=found, name=name, created_by=actor, created_at=clock.now()))
    else:
        _EXPERIMENT_IDS[key] = str(found)
    return str(found)


_EXPERIMENT_IDS: dict[tuple[str, str], str] = {}


def experiment_names(conn: Connection, exp_ids: Iterable[str]) -> dict[str, str]:
    rows = conn.execute(sa.select(experiments.c.id, experiments.c.name).where(experiments.c.id.in_(set(exp_ids))))
    return {r.id: r.name for r in rows}


# -- runs -------------------------------------------------------------------------------------------
def history_entry(status: str, reason: str | None = None) -> dict[str, Any]:
    return {"status": status, "at": clock.now().isoformat(), "reason": reason}


def insert_run(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(runs.insert(), [values])
    insert_params(conn, values["id"], values.get("params") or {}, new=True)


def insert_params(conn: Connection, run_id: str, params: dict[str, Any], *, new: bool = False) -> None:
    rows = [{"run_id": run_id, "key": k, "value": _text(v), "num": _num(v)} for k, v in params.items()]
    if rows:
        if not new:
            conn.execute(run_params.delete().where(run_params.c.run_id == run_id,
                                                   run_params.c.key.in_(list(params))))
        conn.execute(run_params.insert(), rows)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def load_run(conn: Connection, run_id: str) -> Run:
    row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).first()
    if row is None:
        raise NotFoundError(f"no run {run_id!r}; list runs with `loopml runs list`", run_id=run_id)
    return rows_to_runs(conn, [row])[0]


def rows_to_runs(conn: Connection, rows: list[Any]) -> list[Run]:
    if not rows:
        return []
    names = experiment_names(conn, (r.experiment_id for r in rows))
    latest: dict[str, dict[str, float | None]] = {r.id: {} for r in rows}
    query = sa.select(latest_metrics).where(latest_metrics.c.run_id.in_(list(latest)))
    for m in conn.execute(query):
        latest[m.run_id][m.key] = m.value
    return [_to_run(r, names.get(r.experiment_id, "?"), latest[r.id]) for r in rows]


def _to_run(row: Any, experiment: str, latest: dict[str, float | None]) -> Run:
    data = dict(row._mapping)
    data.pop("experiment_id")
    data.pop("heartbeat_at", None)
    data["history"] = tuple(data["history"] or ())
    for key in ("created_at", "started_at", "ended_at"):
        data[key] = clock.as_utc(data[key]) if data[key] else None
    return Run(experiment=experiment, metrics=latest, **data)


def update_run(conn: Connection, run_id: str, **values: Any) -> None:
    conn.execute(runs.update().where(runs.c.id == run_id).values(**values))


def append_status(conn: Connection, run_id: str, status: str, reason: str | None = None, **values: Any) -> None:
    history = conn.execute(sa.select(runs.c.history).where(runs.c.id == run_id)).scalar_one()
    history = [*(history or []), history_entry(status, reason)]
    update_run(conn, run_id, status=status, status_reason=reason, history=history, **values)


# -- metrics ----------------------------------------------------------------------------------------
def normalize_points(values: Any, *, step: int | None) -> list[dict[str, Any]]:
    """Accept ``{"auc": 0.9}``, ``[("auc", 0.9, 3), …]`` or ``[{"key", "value", "step"?, "ts"?}, …]``."""
    now = time.time()
    if isinstance(values, dict):
        items: Iterable[Any] = [(k, v, step) for k, v in values.items()]
    else:
        items = values
    out = []
    for item in items:
        if isinstance(item, dict):
            key, value, st, ts = item["key"], item["value"], item.get("step", step), item.get("ts", now)
        else:
            key, value, *rest = item
            st = rest[0] if rest else step
            ts = rest[1] if len(rest) > 1 else now
        out.append({"key": _check_key(key), "value": _value(key, value), "step": int(st or 0), "ts": float(ts or now)})
    return out


def _check_key(key: Any) -> str:
    if not isinstance(key, str) or not key or len(key) > 250:
        raise ValidationError(f"metric name {key!r} must be a non-empty string of at most 250 characters")
    return key


def _value(key: str, value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"metric {key!r} got {value!r}, which is not a number; log numbers only") from exc
    return None if math.isnan(number) else number


def insert_points(conn: Connection, run_id: str, points: list[dict[str, Any]]) -> None:
    if not points:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    conn.exec_driver_sql(  # straight to the driver's executemany: the bulk path of batched logging
        f"INSERT INTO {metrics.name} (run_id, key, step, value, ts) VALUES ({', '.join([mark] * 5)})",
        [(run_id, p["key"], p["step"], p["value"], p["ts"]) for p in points])
    latest: dict[str, dict[str, Any]] = {}
    for p in points:
        if p["key"] not in latest or p["step"] >= latest[p["key"]]["step"]:
            latest[p["key"]] = p
    _upsert_latest(conn, run_id, list(latest.values()))


_UPSERTS: dict[str, Any] = {}


def _upsert_latest(conn: Connection, run_id: str, points: list[dict[str, Any]]) -> None:
    rows = [{"run_id": run_id, "key": p["key"], "step": p["step"], "value": p["value"]} for p in points]
    conn.execute(_upsert_statement(conn.dialect.name), rows)


def _upsert_statement(dialect: str) -> Any:
    """``INSERT … ON CONFLICT DO UPDATE`` keeping the highest step (built once per dialect)."""
    if dialect not in _UPSERTS:
        stmt: Any  # the PostgreSQL and SQLite inserts are distinct classes with the same on_conflict API
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as postgresql_insert

            stmt = postgresql_insert(latest_metrics)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(latest_metrics)
        _UPSERTS[dialect] = stmt.on_conflict_do_update(
            index_elements=["run_id", "key"],
            set_={"step": stmt.excluded.step, "value": stmt.excluded.value},
            where=stmt.excluded.step >= latest_metrics.c.step,
        )
    return _UPSERTS[dialect]
