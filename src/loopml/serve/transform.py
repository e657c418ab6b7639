"""Batch transform: predict a whole file with parallel worker processes, resumable shard by shard.

The input is rewritten once as Parquet with one row group per shard. Worker processes (started without
credentials) load the model, check each shard's rows against the signature, predict the valid ones and
write ``part-NNNNN.parquet|csv`` plus ``failures-NNNNN.jsonl`` atomically. The job records each
finished shard in the metadata store only after its files exist, so a killed job resumes without
redoing finished shards, and every input row ends up exactly once in an output or a failure file.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from loopml.core import audit, clock, context, faults
from loopml.errors import PermissionDenied, ValidationError
from loopml.serve._tables import transform_jobs, transform_shards

ROW_ID = "_row"
_worker: dict[str, Any] = {}


@dataclass(frozen=True)
class TransformResult:
    """The outcome of a transform job (read-only)."""

    job_id: str
    output: str
    shards: int
    rows: int
    failures: int
    resumed_shards: int
    seconds: float


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def _read_input(source: str | Path) -> pa.Table:
    path = Path(source)
    if not path.is_file():
        raise ValidationError(f"input {source!r} is not a file; pass a .parquet or .csv file")
    if path.suffix == ".parquet":
        return pq.read_table(path)
    if path.suffix in (".csv", ".txt"):
        import pyarrow.csv as pacsv

        return pacsv.read_csv(path)
    raise ValidationError(f"input {source!r} has suffix {path.suffix!r}; use .parquet or .csv")


def _prepare(source: str | Path, work: Path, shard_rows: int) -> int:
    """Write ``work/input.parquet`` with a row-id column and one row group per shard; returns shard count."""
    target = work / "input.parquet"
    if target.exists():
        return pq.ParquetFile(target).num_row_groups
    table = _read_input(source)
    if ROW_ID not in table.column_names:
        table = table.append_column(ROW_ID, pa.array(range(table.num_rows), pa.int64()))
    tmp = work / "input.parquet.tmp"
    pq.write_table(table, tmp, row_group_size=shard_rows)
    os.replace(tmp, target)
    return pq.ParquetFile(target).num_row_groups


def _init_worker(folder: str, digest: str, output: str) -> None:
    from loopml.serve._model import load_folder

    _worker["model"] = load_folder(folder, name="transform", digest=digest, output=output)


def _run_shard(work: str, out: str, shard: int, fmt: str, join: list[str] | None) -> tuple[int, int, int]:
    """In a worker: predict one shard and write its output and failure files atomically."""
    import pandas as pd

    from loopml.serve._signature import check_frame

    faults.point("transform_shard_start")
    model = _worker["model"]
    frame = pq.ParquetFile(Path(work) / "input.parquet").read_row_group(shard).to_pandas()
    features = frame[[c.name for c in model.columns]] if model.columns else frame.drop(columns=[ROW_ID])
    clean, errors = check_frame(_numbers_from_text(features, model.columns), model.columns)
    bad = sorted({e.row for e in errors})
    good = clean.drop(index=clean.index[bad]) if bad else clean
    result = pd.DataFrame({ROW_ID: frame[ROW_ID].to_numpy()[[i for i in range(len(frame)) if i not in set(bad)]]
                           if bad else frame[ROW_ID].to_numpy()})
    predictions = model(good) if len(good) else []
    result["prediction"] = list(predictions) if getattr(predictions, "ndim", 1) > 1 else predictions
    if join:
        kept = frame.drop(index=frame.index[bad]) if bad else frame
        for col in join:
            result[col] = kept[col].to_numpy()
    _write_atomic(Path(out) / f"part-{shard:05d}.{fmt}", result, fmt)
    lines = [json.dumps({ROW_ID: int(frame[ROW_ID].iloc[e.row]), "pointer": e.pointer, "error": e.message})
             for e in errors]
    _write_text_atomic(Path(out) / f"failures-{shard:05d}.jsonl", "".join(line + "\n" for line in lines))
    return shard, len(result), len(bad)


def _numbers_from_text(frame: Any, columns: Any) -> Any:
    """CSV columns read as text: numeric text becomes numbers for numeric signature columns; the rest stays
    text and fails validation row by row."""
    import pandas as pd

    out = frame.copy()
    for col in columns:
        if col.kind in ("double", "long") and out[col.name].dtype == object:
            numbers = pd.to_numeric(out[col.name], errors="coerce")
            text = out[col.name].map(lambda v: isinstance(v, str))
            parsed = text & numbers.notna()
            out[col.name] = out[col.name].where(~parsed, numbers)
    return out


def _write_atomic(path: Path, frame: Any, fmt: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    if fmt == "csv":
        frame.to_csv(tmp, index=False)
    else:
        frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _resolve(model: str, *, allow_unapproved: bool, actor: str) -> Any:
    from loopml import registry

    version = registry.resolve(model)
    if not version.is_deployable and not allow_unapproved:
        raise PermissionDenied(f"{version.name} is {version.status}; batch transform runs only Approved versions "
                               "(an admin may pass --allow-unapproved)", model=version.name)
    return version


def _job(version: Any, input_digest: str, output: Path, params: dict[str, Any], actor: str) -> tuple[str, set[int]]:
    """The job row (created, or found again for a resume) and the shards already done."""
    key = json.dumps([version.digest, input_digest, str(output), params], sort_keys=True)
    job_id = "tj_" + hashlib.sha256(key.encode()).hexdigest()[:24]
    now = clock.now()
    with context.get_db().write() as conn:
        if conn.execute(sa.select(transform_jobs.c.id).where(transform_jobs.c.id == job_id)).first() is None:
            conn.execute(transform_jobs.insert().values(
                id=job_id, model=version.name, digest=version.digest, input_digest=input_digest, output=str(output),
                status="InProgress", params=params, counts={}, created_by=actor, created_at=now, updated_at=now))
            audit.append(conn, actor=actor, action="transform.start", resource=f"transform:{job_id}",
                         details={"model": version.name, "digest": version.digest, "input": input_digest})
        done = set(conn.execute(sa.select(transform_shards.c.shard).where(transform_shards.c.job_id == job_id))
                   .scalars())
    return job_id, done


def _record_shard(job_id: str, shard: int, rows: int, failures: int, file: str) -> None:
    from loopml.core._sql import insert_ignore

    with context.get_db().write() as conn:
        insert_ignore(conn, transform_shards, dict(job_id=job_id, shard=shard, rows=rows, failures=failures,
                                                   file=file, completed_at=clock.now()))


def _pool(workers: int, folder: Path, digest: str, output: str) -> ProcessPoolExecutor:
    """Worker processes spawned with a credential-free environment."""
    from loopml.serve._model import sandbox_env

    threads = str(max(1, (os.cpu_count() or 1) // workers))  # no oversubscription: one BLAS/Arrow pool per core
    saved, clean = dict(os.environ), sandbox_env({"OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
                                                  "MKL_NUM_THREADS": threads, "ARROW_NUM_THREADS": threads})
    os.environ.clear()
    os.environ.update(clean)
    try:
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker, initargs=(str(folder), digest, output))
        for _ in range(workers):  # spawn every worker now (they import and load in parallel)
            pool.submit(os.getpid)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return pool


def transform(model: str, source: str | Path, output: str | Path, *, workers: int = 1, shard_rows: int = 100_000,
              fmt: str = "parquet", join: list[str] | None = None, output_kind: str = "predict",
              allow_unapproved: bool = False, progress: bool = False) -> TransformResult:
    """Predict every row of ``source`` (Parquet or CSV) with ``model`` into ``output``; resumable.

    Args:
        model: ``GROUP:VERSION`` or ``GROUP@approved`` (Approved unless ``allow_unapproved``).
        source: the input file.
        output: a folder for ``part-*.{fmt}`` (row id ``_row``, ``prediction``, joined columns) and
            ``failures-*.jsonl`` (row id, JSON pointer, reason for each invalid row).
        workers: parallel worker processes.
        shard_rows: rows per shard (the unit of resume).
        fmt: ``parquet`` or ``csv``.
        join: input columns copied next to each prediction.
        progress: show a progress bar on the terminal.
    """
    import time

    from loopml import registry

    if fmt not in ("parquet", "csv"):
        raise ValidationError(f"output format {fmt!r} is not parquet or csv")
    started = time.perf_counter()
    actor = context.current_user()
    version = _resolve(model, allow_unapproved=allow_unapproved, actor=actor)
    out = Path(output).resolve()
    work = out / "_work"
    work.mkdir(parents=True, exist_ok=True)
    folder = work / "model"
    if not folder.exists():
        registry.fetch_model(version, folder)
    pool = _pool(max(1, workers), folder, version.digest, output_kind)  # workers start while the input is prepared
    shards = _prepare(source, work, shard_rows)
    params = {"shard_rows": shard_rows, "fmt": fmt, "join": join or [], "output_kind": output_kind}
    job_id, done = _job(version, _sha256(work / "input.parquet"), out, params, actor)
    done = {s for s in done if (out / f"part-{s:05d}.{fmt}").exists()}
    todo = [s for s in range(shards) if s not in done]
    with pool, _progress(progress, shards, len(done)) as advance:
        futures = [pool.submit(_run_shard, str(work), str(out), s, fmt, join) for s in todo]
        for future in as_completed(futures):
            shard, rows, failures = future.result()
            _record_shard(job_id, shard, rows, failures, f"part-{shard:05d}.{fmt}")
            advance()
    return _finish(job_id, out, shards, len(done), time.perf_counter() - started)


def _finish(job_id: str, out: Path, shards: int, resumed: int, seconds: float) -> TransformResult:
    with context.get_db().write() as conn:
        rows = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(transform_shards.c.rows), 0),
                                      sa.func.coalesce(sa.func.sum(transform_shards.c.failures), 0))
                            .where(transform_shards.c.job_id == job_id)).one()
        counts = {"rows": int(rows[0]), "failures": int(rows[1]), "shards": shards}
        conn.execute(transform_jobs.update().where(transform_jobs.c.id == job_id)
                     .values(status="Completed", counts=counts, updated_at=clock.now()))
    return TransformResult(job_id, str(out), shards, counts["rows"], counts["failures"], resumed, seconds)


class _progress:
    """A rich progress bar over shards (a no-op when ``enabled`` is False)."""

    def __init__(self, enabled: bool, total: int, done: int) -> None:
        self.enabled, self.total, self.done = enabled, total, done

    def __enter__(self) -> Any:
        if not self.enabled:
            return lambda: None
        from rich.progress import Progress

        self.bar = Progress()
        self.bar.start()
        task = self.bar.add_task("transform", total=self.total, completed=self.done)
        return lambda: self.bar.advance(task)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.bar.stop()

