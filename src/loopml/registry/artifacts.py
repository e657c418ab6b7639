"""The artifacts of a model version, for browsing: the model folder's files and the evaluation report."""

from __future__ import annotations

import json
from typing import Any

from loopml.core import context, previews
from loopml.core.previews import ArtifactFile
from loopml.registry.queries import get_version


def version_artifacts(group: str, version: int) -> list[ArtifactFile]:
    """Every stored file of a version: ``model/…`` and ``evaluation/report.json`` (with its ``report.html``)."""
    found = get_version(group, version)
    named: dict[str, str | None] = {"model": found.digest, "evaluation/report.json": found.evaluation_digest}
    if found.evaluation_digest and context.get_artifacts().exists(found.evaluation_digest):
        try:
            report = json.loads(context.get_artifacts().get_bytes(found.evaluation_digest))
        except (UnicodeDecodeError, ValueError):
            report = {}
        html = report.get("html") if isinstance(report, dict) else None
        named["evaluation/report.html"] = html if isinstance(html, str) and html.startswith("sha256:") else None
    return previews.expand(named)


def preview_version_artifact(group: str, version: int, digest: str) -> dict[str, Any]:
    """A bounded preview of one of the version's artifacts, opened by digest.

    Raises:
        NotFoundError: the version does not name that digest.
    """
    files = version_artifacts(group, version)
    return previews.preview(previews.find(files, digest, owner=f"{group}:{version}"))
