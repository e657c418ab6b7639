"""What keeps a blob alive: every record that names it.

Reachability is computed from the records, never from a list writers must remember to update. Each stage
contributes one small *reference provider* per table that can name a blob: a function
``(conn) -> Iterable[Reference | FileReference]``. :data:`PROVIDERS` lists them as lazy data (table name ->
``"module:function"``, imported only when ``fsck`` or ``gc`` runs, as the back-end tables are), so ``core``
never imports a stage. :data:`NO_REFERENCES` lists, with the reason, every table that holds no blob
reference; ``tests/core/test_references.py`` fails when a table is in neither, or when a table with a
digest-like column is declared reference-free.

A :class:`Reference` names a blob of the artifact store and what it is: plain bytes, a folder (its manifest
names the folder's files), a JSON document (the digests it mentions are followed too), or unknown (a
folder manifest is recognised by its first bytes). A :class:`FileReference` names a file kept outside the
artifact store (feature partitions) with the hash recorded when it was written; ``fsck`` checks it and
``gc`` never touches it.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

BYTES, FOLDER, JSON, UNKNOWN = "bytes", "folder", "json", "unknown"
_MENTION = re.compile(r"sha256:[0-9a-f]{64}")

#: table -> the provider listing the blobs its rows name (module path as data, imported lazily).
PROVIDERS: dict[str, str] = {
    "artifacts": "loopml.core.references:recorded_artifacts",
    "dataset_versions": "loopml.data._references:dataset_versions",
    "feature_groups": "loopml.features._references:feature_groups",
    "feature_ingests": "loopml.features._references:feature_ingests",
    "runs": "loopml.train._references:runs",
    "checkpoints": "loopml.train._references:checkpoints",
    "model_groups": "loopml.registry._references:model_groups",
    "model_versions": "loopml.registry._references:model_versions",
    "pipelines": "loopml.pipelines._references:pipelines",
    "pipeline_executions": "loopml.pipelines._references:pipeline_executions",
    "step_executions": "loopml.pipelines._references:step_executions",
    "serve_endpoints": "loopml.serve._references:endpoints",
    "serve_capture_files": "loopml.serve._references:capture_files",
    "serve_ground_truth": "loopml.serve._references:ground_truth",
    "serve_async_requests": "loopml.serve._references:async_requests",
    "serve_events": "loopml.serve._references:events",
    "serve_transform_jobs": "loopml.serve._references:transform_jobs",
    "serve_file_digests": "loopml.serve._references:file_digests",
    "monitor_schedules": "loopml.monitor._references:schedules",
    "monitor_schedule_slots": "loopml.monitor._references:slots",
    "monitor_executions": "loopml.monitor._references:executions",
    "monitor_alarms": "loopml.monitor._references:alarms",
    "monitor_alarm_history": "loopml.monitor._references:alarm_history",
    "events": "loopml.core.bus:references",
    "event_rules": "loopml.events._references:rules",
    "event_actions": "loopml.events._references:actions",
}

#: tables that name no blob, and why (a new table must be added here or to PROVIDERS).
NO_REFERENCES: dict[str, str] = {
    "audit_events": "history of what happened; anything still needed is held by the record it describes",
    "audit_head": "the last sequence number and hash of the audit chain",
    "users": "user names",
    "user_roles": "role grants",
    "tokens": "hashes of API tokens, not artifacts",
    "leases": "lease keys, owners and epochs",
    "feature_watermarks": "materialization times",
    "experiments": "names and descriptions",
    "run_params": "hyperparameter values",
    "metrics": "metric series (numbers)",
    "latest_metrics": "the newest value of each metric (numbers)",
    "model_transitions": "approval status changes",
    "model_aliases": "alias -> version number",
    "serve_transform_shards": "row counts and the path of each shard's output file, which the user owns",
    "monitor_datapoints": "metric datapoints (numbers)",
    "event_cursors": "how far each consumer has read the event log",
    "cluster_work": "which node ran which step, job or trial, and when (names and times)",
}


#: table -> a function ``(db) -> rows removed`` that forgets rows describing files outside the store which no
#: longer exist as recorded; ``gc`` calls each (lazily imported, as :data:`PROVIDERS`).
FORGETTERS: dict[str, str] = {
    "serve_file_digests": "loopml.serve._digests:forget_stale",
}


def forget_stale(db: Any) -> dict[str, int]:
    """Run every :data:`FORGETTERS` entry; returns the rows each removed."""
    removed: dict[str, int] = {}
    for table, target in sorted(FORGETTERS.items()):
        module, _, name = target.partition(":")
        removed[table] = getattr(importlib.import_module(module), name)(db)
    return removed


@dataclass(frozen=True)
class Reference:
    """A record naming a blob of the artifact store.

    Args:
        digest: ``sha256:<hex>``.
        owner: the record, as a person would name it (``model churn:1``, ``dataset churn@2``).
        kind: :data:`BYTES`, :data:`FOLDER` (a folder manifest), :data:`JSON` (a document whose digest
            mentions are followed) or :data:`UNKNOWN` (checked for a folder manifest).
        required: the blob must exist (a missing one is reported); False for digests merely mentioned
            (lineage, event details), which may name content that was never stored.
        path: the file inside ``owner``'s folder, for references found by expanding a manifest.
    """

    digest: str
    owner: str
    kind: str = BYTES
    required: bool = True
    path: str = ""

    def describe(self) -> str:
        """``model churn:1 file model/model.ubj`` — the record and, inside a folder, the file."""
        return f"{self.owner} file {self.path}" if self.path else self.owner


@dataclass(frozen=True)
class FileReference:
    """A record naming a file outside the artifact store (a feature partition), with its recorded hash.

    Args:
        url: where the file is (a local path or an fsspec URL).
        owner: the record that names it.
        sha256: ``sha256:<hex>`` recorded when the file was written (None for files written before
            hashes were recorded: only their presence is checked).
    """

    url: str
    owner: str
    sha256: str | None = None


Found = Reference | FileReference
Provider = Callable[[Connection], Iterable[Found]]


def mentions(value: Any, owner: str, *, kind: str = UNKNOWN) -> Iterator[Reference]:
    """Optional references for every ``sha256:<hex>`` in a JSON value (lineage, configs, event details)."""
    if isinstance(value, str):
        for digest in _MENTION.findall(value):
            yield Reference(digest, owner, kind, required=False)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from mentions(key, owner, kind=kind)
            yield from mentions(item, owner, kind=kind)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from mentions(item, owner, kind=kind)


def named(owner: str, kind: str = BYTES, **digests: str | None) -> Iterator[Reference]:
    """A reference for each digest given (empty ones skipped), named ``<owner> <keyword>``."""
    for name, digest in digests.items():
        if digest:
            yield Reference(digest, f"{owner} {name}", kind)


def load_provider(table: str) -> Provider:
    """The provider of ``table`` (imported on first use)."""
    module, _, name = PROVIDERS[table].partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def collect(conn: Connection) -> list[Found]:
    """Every reference every provider finds, read in one transaction."""
    found: list[Found] = []
    for table in sorted(PROVIDERS):
        found.extend(load_provider(table)(conn))
    return found


# -- the core's own table ----------------------------------------------------------------------------
_FOLDER_TYPES = ("application/vnd.loopml.dir+json", "application/vnd.loopml.model")
_BYTES_TYPES = ("text/html", "application/jsonlines", "application/vnd.apache.parquet", "application/x-npy")


def _kind(media_type: str) -> str:
    if media_type in _FOLDER_TYPES or media_type.endswith("+dir"):
        return FOLDER
    if media_type in _BYTES_TYPES:
        return BYTES
    return JSON if media_type == "application/json" or media_type.endswith("+json") else UNKNOWN


def recorded_artifacts(conn: Connection) -> Iterator[Reference]:
    """Blobs recorded with ``record_artifact``: the roots for artifacts a user holds by digest alone
    (baselines, evaluation reports, recipes), whatever else names them."""
    from loopml.core._tables import artifacts

    for digest, media_type in conn.execute(sa.select(artifacts.c.digest, artifacts.c.media_type)):
        yield Reference(digest, f"artifact ({media_type})", _kind(media_type))


__all__ = [
    "BYTES", "FOLDER", "FORGETTERS", "JSON", "NO_REFERENCES", "PROVIDERS", "UNKNOWN", "FileReference", "Reference",
    "collect", "forget_stale", "mentions", "named",
]
