"""The artifacts of a run, for browsing: its input channels, model folder, output data and logs."""

from __future__ import annotations

from typing import Any

from loopml.core import previews
from loopml.core.previews import ArtifactFile
from loopml.train.tracking import get_run


def run_artifacts(run_id: str) -> list[ArtifactFile]:
    """Every stored file a run names: ``input/<channel>/…``, ``model/…``, ``output/data/…``, ``logs/job.log``."""
    run = get_run(run_id)
    named: dict[str, str | None] = {}
    for channel, info in sorted(run.inputs.items()):
        if isinstance(info, dict) and info.get("type") in ("dataset", "dataframe"):
            named[f"input/{channel}/{info.get('file') or 'data.parquet'}"] = info.get("sha256")
    named["model"] = run.model_digest
    output = run.outputs.get("output_data") if isinstance(run.outputs, dict) else None
    named["output/data"] = output if isinstance(output, str) else None
    named["logs/job.log"] = run.logs_digest
    return previews.expand(named)


def preview_run_artifact(run_id: str, digest: str) -> dict[str, Any]:
    """A bounded preview of one of the run's artifacts, opened by digest (see :func:`loopml.core.previews.preview`).

    Raises:
        NotFoundError: the run does not name that digest.
    """
    return previews.preview(previews.find(run_artifacts(run_id), digest, owner=f"run {run_id}"))
