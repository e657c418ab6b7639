"""Batch transform: predict a whole file with parallel worker processes, resumable shard by shard.

A shard is a row group: a Parquet input whose row groups are about a shard's size is read where it is,
anything else is rewritten once as Parquet with one row group per shard. Worker processes (forked from
the pre-imported zygote, without credentials) load the model, check each shard's rows against the signature, predict the valid ones and
write ``part-NNNNN.parquet|csv`` plus ``failures-NNNNN.jsonl`` atomically. The job records each
finished shard in the metadata store only after its files exist, so a killed job resumes without
redoing finished shards, and every input row ends up exactly once in an output or a failure file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from loopml.core import audit, checks, clock, context, faults, userfiles
from loopml.errors import LoopmlError, PermissionDenied, ValidationError
from loopml.serve._digests import file_digest
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


def _input_path(source: str | Path) -> Path:
    path = userfiles.input_file(source, "input file")
    if path.suffix not in (".parquet", ".csv", ".txt"):
        raise ValidationError(f"input {str(source)!r} has suffix {path.suffix!r}; use .parquet or .csv")
    return path


def _read_input(source: str | Path) -> pa.Table:
    path = _input_path(source)
    try:
        if path.suffix == ".parquet":
            return pq.read_table(path)
        import pyarrow.csv as pacsv

        return pacsv.read_csv(path)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise _unreadable(path, exc) from exc


def _unreadable(path: Path, exc: Exception) -> ValidationError:
    kind = "Parquet" if path.suffix == ".parquet" else "CSV"
    return ValidationError(f"cannot read input {str(path)!r} as {kind}: {str(exc).splitlines()[0][:200]}; check "
                           "the file (a CSV needs a header row and the same number of fields on every line)")


class TransformFailed(LoopmlError):
    """A shard could not be predicted; finished shards are kept and the same call resumes."""

    http_status = 500
    code = "transform_failed"


def _prepare(source: str | Path, work: Path, shard_rows: int) -> tuple[Path, list[int] | None]:
    """The Parquet file shards are read from, and the first row id of each of its row groups (one shard each).

    A Parquet input whose row groups are at most ``4 * shard_rows`` rows is read where it is (row ids are
    positions, offsets from its metadata); anything else is rewritten as ``work/input-<digest>-<rows>.parquet``
    with a row-id column and one row group per shard (offsets None: the ids are in the file). The rewrite is
    named by the source file's digest and the shard size, so a corrected CSV given to the same output folder
    is read afresh (and names a new job) instead of resuming from the old rows; older rewrites are removed.
    """
    path = Path(source)
    if path.suffix == ".parquet" and path.is_file():
        try:
            meta = pq.ParquetFile(path).metadata
        except (pa.ArrowException, OSError) as exc:
            raise _unreadable(path, exc) from exc
        sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        if ROW_ID not in meta.schema.names and sizes and max(sizes) <= 4 * shard_rows:
            return path, [sum(sizes[:i]) for i in range(len(sizes))]
    target = work / f"input-{file_digest(path).removeprefix('sha256:')[:24]}-{shard_rows}.parquet"
    for stale in work.glob("input*.parquet"):
        if stale != target:
            stale.unlink(missing_ok=True)
    if not target.exists():
        table = _read_input(source)
        if ROW_ID not in table.column_names:
            table = table.append_column(ROW_ID, pa.array(range(table.num_rows), pa.int64()))
        tmp = work / "input.parquet.tmp"
        pq.write_table(table, tmp, row_group_size=shard_rows)
        os.replace(tmp, target)
    return target, None


def _init_worker(folder: str, digest: str, output: str, threads: int) -> None:
    from threadpoolctl import threadpool_limits

    from loopml.serve._model import load_folder

    threadpool_limits(threads)  # no oversubscription: one BLAS/Arrow pool per core between the workers
    pa.set_cpu_count(threads)
    _worker["model"] = load_folder(folder, name="transform", digest=digest, output=output)


def _run_shard(source: str, out: str, shard: int, fmt: str, join: list[str] | None,
               first_row: int | None, probabilities: bool = False) -> tuple[int, int, int]:
    """In a worker: predict one shard (row group) and write its output and failure files atomically."""
    import numpy as np
    import pandas as pd

    from loopml.serve._signature import check_frame

    faults.point("transform_shard_start")
    model = _worker["model"]
    parquet = pq.ParquetFile(source)
    wanted = [c.name for c in model.columns] + list(join or []) + ([ROW_ID] if first_row is None else [])
    names = list(dict.fromkeys(wanted)) if model.columns else None
    frame = parquet.read_row_group(shard, columns=names).to_pandas()
    ids = frame[ROW_ID].to_numpy() if first_row is None else np.arange(first_row, first_row + len(frame))
    features = frame[[c.name for c in model.columns]] if model.columns else frame.drop(columns=[ROW_ID],
                                                                                       errors="ignore")
    clean, errors = check_frame(_numbers_from_text(features, model.columns), model.columns)
    bad = sorted({e.row for e in errors})
    keep = np.ones(len(frame), dtype=bool)
    keep[bad] = False
    good = clean[keep] if bad else clean
    result = pd.DataFrame({ROW_ID: ids[keep]})
    predictions = model(good) if len(good) else []
    result["prediction"] = list(predictions) if getattr(predictions, "ndim", 1) > 1 else predictions
    if probabilities:
        _add_probabilities(result, model, good)
    for col in join or []:
        result[col] = frame[col].to_numpy()[keep]
    _write_atomic(Path(out) / f"part-{shard:05d}.{fmt}", result, fmt)
    lines = [json.dumps({ROW_ID: int(ids[e.row]), "pointer": e.pointer, "error": e.message}) for e in errors]
    _write_text_atomic(Path(out) / f"failures-{shard:05d}.jsonl", "".join(line + "\n" for line in lines))
    return shard, len(result), len(bad)


def _add_probabilities(result: Any, model: Any, frame: Any) -> None:
    """One column ``probability_<class>`` per class, in the model's class order."""
    import numpy as np

    proba = model.extra.get("predict_proba")
    if proba is None:
        raise ValidationError("this model gives no class probabilities (no predict_proba); run without "
                              "probabilities")
    classes = model.extra.get("classes")
    values = np.asarray(proba(frame)) if len(frame) else np.empty((0, len(classes or [])))
    names = classes if classes is not None else range(values.shape[1])
    for i, label in enumerate(names):
        result[f"probability_{label}"] = values[:, i]


def _numbers_from_text(frame: Any, columns: Any) -> Any:
    """CSV columns read as text: numeric text becomes numbers for numeric signature columns; the rest stays
    text and fails validation row by row. The frame is copied only if a column needs it."""
    import pandas as pd

    text_columns = [c.name for c in columns if c.kind in ("double", "long") and frame[c.name].dtype == object]
    if not text_columns:
        return frame
    out = frame.copy()
    for name in text_columns:
        numbers = pd.to_numeric(out[name], errors="coerce")
        text = out[name].map(lambda v: isinstance(v, str))
        parsed = text & numbers.notna()
        out[name] = out[name].where(~parsed, numbers)
    return out


def _write_atomic(path: Path, frame: Any, fmt: str) -> None:
    tmp = _attempt_file(path)
    if fmt == "csv":
        frame.to_csv(tmp, index=False)
    else:
        frame.to_parquet(tmp, index=False)
    _publish_once(tmp, path)


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = _attempt_file(path)
    tmp.write_text(text)
    _publish_once(tmp, path)


def _attempt_file(path: Path) -> Path:
    """A temporary name of this attempt's own (two attempts of one shard never write the same file)."""
    import uuid

    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")


def _publish_once(tmp: Path, path: Path) -> bool:
    """Give ``tmp`` the name ``path`` unless an attempt already published it (an exclusive link, never a
    replace): a shard re-run after its node was lost never writes its output a second time. The driver
    removes a shard's files before it submits the shard, so only attempts of the same run can collide."""
    try:
        os.link(tmp, path)
        published = True
    except FileExistsError:
        published = False
    finally:
        tmp.unlink(missing_ok=True)
    return published


def _clear_shard(out: Path, shard: int, fmt: str) -> None:
    """Remove what an earlier, unrecorded attempt of ``shard`` left, before it is submitted again."""
    for name in (f"part-{shard:05d}.{fmt}", f"failures-{shard:05d}.jsonl"):
        (out / name).unlink(missing_ok=True)


_PART = re.compile(r"^(?:part-(\d{5,})\.(parquet|csv)|failures-(\d{5,})\.jsonl)$")


def _remove_other_parts(out: Path, shards: int, fmt: str) -> None:
    """Remove output files no shard of this job writes: those of an earlier job in the same folder that had
    more shards (a shorter corrected input, a larger ``shard_rows``) or wrote another format. Otherwise
    ``part-*`` would mix that job's rows into this job's output."""
    for path in out.iterdir():
        found = _PART.match(path.name)
        if found is None:
            continue
        shard = int(found[1] or found[3])
        if shard >= shards or (found[2] is not None and found[2] != fmt):
            path.unlink(missing_ok=True)


def _check_columns(path: Path, version: Any, join: list[str] | None) -> None:
    """Every signature and join column must be in the input, before any worker reads a shard."""
    from loopml.serve._signature import parse_signature

    have = set(pq.ParquetFile(path).schema_arrow.names)
    missing = [c.name for c in parse_signature(version.signature) if c.name not in have]
    missing += [c for c in join or [] if c not in have]
    if missing:
        raise ValidationError(f"the input has no column(s) {missing}; {version.name} needs "
                              f"{[c.name for c in parse_signature(version.signature)]} (and the --join columns)")


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
    from loopml.core.rows import insert_ignore

    with context.get_db().write() as conn:
        insert_ignore(conn, transform_shards, dict(job_id=job_id, shard=shard, rows=rows, failures=failures,
                                                   file=file, completed_at=clock.now()))


def shard_executor(workers: int, folder: Path, digest: str, output: str, *, on_cluster: bool = False) -> Any:
    """The seam that runs shards: ``submit(_run_shard, ...)`` futures on ``workers`` processes that loaded the
    model: processes forked from the pre-imported zygote (credential-free), or with ``on_cluster`` Ray tasks
    on the configured cluster (:class:`loopml.serve._ray_shards.RayShards`, as many at once as its CPUs)."""
    from loopml.serve._zygote import zygote

    if on_cluster:
        from loopml.serve._ray_shards import RayShards

        return RayShards(digest, output)

    threads = max(1, (os.cpu_count() or 1) // workers)
    pool = ProcessPoolExecutor(workers, mp_context=zygote(), initializer=_init_worker,
                               initargs=(str(folder), digest, output, threads))
    for _ in range(workers):  # start every worker now (they load the model while the input is prepared)
        pool.submit(os.getpid)
    return pool


def transform(model: str, source: str | Path, output: str | Path, *, workers: int = 1, shard_rows: int = 100_000,
              fmt: str = "parquet", join: list[str] | None = None, output_kind: str = "predict",
              probabilities: bool = False, allow_unapproved: bool = False, progress: bool = False,
              on_cluster: bool | None = None) -> TransformResult:
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
        probabilities: also write each class's probability, one column ``probability_<class>`` per class
            (classifiers only; for a model without ``predict_proba`` the job fails saying so).
        progress: show a progress bar on the terminal.
        on_cluster: run the shards as Ray tasks on the configured cluster (None: when a cluster is set);
            ``source`` and ``output`` must then be paths every node sees. ``workers`` does not apply there.
    """
    import time

    from loopml import registry

    if fmt not in ("parquet", "csv"):
        raise ValidationError(f"output format {fmt!r} is not parquet or csv")
    workers = checks.integer(workers, "workers", low=1, high=MAX_WORKERS)
    shard_rows = checks.integer(shard_rows, "shard_rows", low=1, high=2**31 - 1)
    _input_path(source)
    started = time.perf_counter()
    actor = context.current_user()
    version = _resolve(model, allow_unapproved=allow_unapproved, actor=actor)
    out = userfiles.output_folder(output, "output folder").resolve()
    work = userfiles.output_folder(out / "_work", "work folder")
    folder = work / "model"
    if not folder.exists():
        registry.fetch_model(version, folder)
    if on_cluster is None:
        on_cluster = bool(context.get_settings().cluster)
    pool = shard_executor(workers, folder, version.digest, output_kind, on_cluster=on_cluster)  # loads meanwhile
    try:
        path, offsets = _checked_input(source, work, shard_rows, version, join)
        shards = pq.ParquetFile(path).num_row_groups
        params = {"shard_rows": shard_rows, "fmt": fmt, "join": join or [], "output_kind": output_kind,
                  **({"probabilities": True} if probabilities else {})}
        job_id, done = _job(version, file_digest(path), out, params, actor)
        done = {s for s in done if (out / f"part-{s:05d}.{fmt}").exists()}
        _remove_other_parts(out, shards, fmt)
        todo = [s for s in range(shards) if s not in done]
        for s in todo:
            _clear_shard(out, s, fmt)
        pool.job_id = job_id
        with _progress(progress, shards, len(done)) as advance:
            futures = [pool.submit(_run_shard, str(path), str(out), s, fmt, join, offsets[s] if offsets else None,
                                   probabilities) for s in todo]
            for future in as_completed(futures):
                shard, rows, failures = _shard_result(future)
                _record_shard(job_id, shard, rows, failures, f"part-{shard:05d}.{fmt}")
                advance()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return _finish(job_id, out, shards, len(done), time.perf_counter() - started)


MAX_WORKERS = 256


def _checked_input(source: str | Path, work: Path, shard_rows: int, version: Any,
                   join: list[str] | None) -> tuple[Path, list[int] | None]:
    """The prepared input, whose columns fit the model; a rewrite that does not fit is removed, so a
    corrected input given to the same output folder is read afresh."""
    path, offsets = _prepare(source, work, shard_rows)
    try:
        _check_columns(path, version, join)
    except ValidationError:
        if path.parent == work:
            path.unlink(missing_ok=True)
        raise
    return path, offsets


def _shard_result(future: Any) -> tuple[int, int, int]:
    try:
        counts: tuple[int, int, int] = future.result()
        return counts
    except LoopmlError:
        raise
    except Exception as exc:  # a worker's error, pickled back: name it, keep the finished shards
        raise TransformFailed(f"a shard failed ({type(exc).__name__}: {str(exc)[:300]}); the finished shards are "
                              "kept: fix the cause and run the same command again to resume") from exc


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

