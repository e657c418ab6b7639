"""Reading sources into frames, canonical Parquet bytes, and the content hash that names a version."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from loopml.errors import NotFoundError, ValidationError

FORMATS = ("csv", "parquet", "jsonl")
_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def detect_format(path: Path, declared: str | None) -> str:
    """The file format: the declared one, or the one the file name ends with."""
    if declared is not None:
        fmt = declared.lower().replace("json_lines", "jsonl").replace("ndjson", "jsonl")
        if fmt not in FORMATS:
            raise ValidationError(
                f"format {declared!r} is not supported; use one of {', '.join(FORMATS)}", format=declared
            )
        return fmt
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise ValidationError(
            f"cannot tell the format of {path.name!r} from its extension; pass format= one of "
            f"{', '.join(FORMATS)}", source=str(path),
        )
    return found


def read_source(path: str | Path, fmt: str | None = None) -> tuple[pd.DataFrame, str]:
    """Read a CSV, Parquet or JSON Lines file into a frame.

    Returns:
        The frame and the format it was read as.

    Raises:
        NotFoundError: the file does not exist.
        ValidationError: the file cannot be parsed in that format, or holds no columns.
    """
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"data file {str(path)!r} does not exist; check the path", source=str(path))
    fmt = detect_format(path, fmt)
    try:
        df = _READERS[fmt](path)
    except Exception as exc:  # parsers raise many unrelated types; name the file and format instead
        raise ValidationError(
            f"could not read {str(path)!r} as {fmt}: {type(exc).__name__}: {str(exc)[:200]}; "
            "check the file or pass the right format=", source=str(path), format=fmt,
        ) from exc
    if df.shape[1] == 0:
        raise ValidationError(f"{str(path)!r} holds no columns; nothing was registered", source=str(path))
    return df, fmt


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
_TZ = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def parse_iso_dates(df: pd.DataFrame) -> pd.DataFrame:
    """Turn text columns whose every value is an ISO 8601 date or timestamp into datetimes."""
    for col in df.columns:
        values = df[col]
        if not pd.api.types.is_object_dtype(values) and not pd.api.types.is_string_dtype(values):
            continue
        text = values.dropna()
        if text.empty or not all(isinstance(v, str) and _ISO.match(v) for v in text):
            continue
        df[col] = pd.to_datetime(values, format="ISO8601", utc=any(_TZ.search(v) for v in text))
    return df


def _read_csv(path: Path) -> pd.DataFrame:
    return parse_iso_dates(pd.read_csv(path))


def _read_jsonl(path: Path) -> pd.DataFrame:
    return parse_iso_dates(pd.read_json(path, lines=True, convert_dates=False))


_READERS = {"csv": _read_csv, "parquet": pd.read_parquet, "jsonl": _read_jsonl}


def to_arrow(df: pd.DataFrame) -> pa.Table:
    """The frame as an Arrow table without the pandas index; column names must be unique text."""
    names = [str(c) for c in df.columns]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValidationError(f"column names must be unique; repeated: {dupes}", columns=dupes)
    frame = df.reset_index(drop=True)
    frame.columns = names
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValidationError(
            f"the data cannot be stored as Parquet ({str(exc)[:200]}); make each column hold one type",
        ) from exc


def content_hash(table: pa.Table) -> str:
    """The sha256 of the table's content (schema and values), independent of writer metadata."""
    plain = table.replace_schema_metadata(None)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, plain.schema) as writer:
        for batch in plain.combine_chunks().to_batches():
            writer.write_batch(batch)
    return hashlib.sha256(sink.getvalue()).hexdigest()


def parquet_bytes(table: pa.Table) -> bytes:
    """The table as Parquet bytes (zstd-compressed)."""
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def read_parquet_bytes(data: bytes) -> pd.DataFrame:
    """A frame from Parquet bytes."""
    return pq.read_table(io.BytesIO(data)).to_pandas()
