"""Capture files in SageMaker's layout, on local disk or any fsspec URL (S3 included).

    <root>/<endpoint>/<variant>/<yyyy>/<mm>/<dd>/<hh>/<mm>-<ss>-<uuid>.jsonl

which is where a SageMaker endpoint writes data capture under its ``DestinationS3Uri``; the same reader
therefore reads loopml's capture and SageMaker's. Writes go through the blob layer, so they are atomic
(local: a temp file under ``<root>/tmp``, fsynced, renamed; S3: one PUT). Listings skip the cache so files
written by other processes show.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from loopml.core.blobs import open_blob_store, storage_options
from loopml.errors import BackendError, ValidationError

_HOUR_PATH = re.compile(r"^(?P<variant>[^/]+)/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P<h>\d{2})/[^/]+\.jsonl$")


def open_url(url: str) -> tuple[Any, str]:
    """The fsspec file system of ``url`` and the path in it (S3 goes to ``LOOPML_S3_ENDPOINT`` when set)."""
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(url, **storage_options(url))
    except (ValueError, ImportError) as exc:
        raise ValidationError(f"capture location {url!r} is not a folder or a URL fsspec can open ({exc}); give "
                              "a local folder or s3://bucket/prefix", url=url) from exc
    return fs, path.rstrip("/")


class CaptureFolder:
    """One capture root: ``put`` files into hour folders, list them, read them."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.fs, self.base = open_url(self.url)

    def put(self, local: Path, key: str) -> None:
        """Store the file ``local`` under ``key`` atomically (overwriting the same key is allowed)."""
        try:
            open_blob_store(self.url).put_file(local, key)
        except OSError as exc:
            raise BackendError(f"could not write capture file {key!r} under {self.url!r}: {exc}; check the "
                               "capture location (LOOPML_CAPTURE) is writable") from exc

    def files(self, endpoint: str, hours: list[str] | None = None) -> list[dict[str, Any]]:
        """Capture files of ``endpoint`` (all, or those of ``hours`` given as ``YYYYMMDDHH``), oldest first."""
        root = f"{self.base}/{endpoint}"
        found = self._find(root) if hours is None else [
            p for variant in self._children(root) for hour in hours for p in self._children(f"{variant}/{_hour(hour)}")]
        out = []
        for path in found:
            match = _HOUR_PATH.match(path[len(root) + 1:])
            if match:
                out.append({"key": path[len(self.base) + 1:], "variant": match["variant"],
                            "hour": match["y"] + match["m"] + match["d"] + match["h"]})
        return sorted(out, key=lambda f: (f["hour"], f["key"]))

    def find(self, prefix: str = "") -> list[str]:
        """Every file key under ``prefix`` (relative to the root)."""
        root = f"{self.base}/{prefix}".rstrip("/")
        return sorted(p[len(self.base) + 1:] for p in self._find(root))

    def read(self, key: str) -> bytes:
        with self.fs.open(f"{self.base}/{key}", "rb") as handle:
            return bytes(handle.read())

    def _children(self, path: str) -> list[str]:
        self.fs.invalidate_cache(path)
        try:
            return [str(p).rstrip("/") for p in self.fs.ls(path, detail=False)]
        except FileNotFoundError:
            return []

    def _find(self, path: str) -> list[str]:
        self.fs.invalidate_cache(path)
        try:
            return [str(p) for p in self.fs.find(path)]
        except FileNotFoundError:
            return []


def hour_key(endpoint: str, variant: str, hour: str, name: str) -> str:
    """``<endpoint>/<variant>/<yyyy>/<mm>/<dd>/<hh>/<name>`` for ``hour`` given as ``YYYYMMDDHH``."""
    return f"{endpoint}/{variant}/{_hour(hour)}/{name}"


def _hour(hour: str) -> str:
    return f"{hour[:4]}/{hour[4:6]}/{hour[6:8]}/{hour[8:10]}"
