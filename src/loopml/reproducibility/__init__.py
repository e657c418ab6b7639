"""Reproduce a registered model version from its lineage and say whether the same bytes came out.

:func:`reproduce` reads what produced ``group:version`` — the pipeline execution (every step) or the training
job, the datasets by hash, the code (commit, changed files by hash, step source hashes), parameters, seeds
and the environment lock recorded at training time — copies the inputs out of the artifact store into a fresh
working folder with a separate home, re-runs it there in its own process, and compares the new model digest
with the registered one. Nothing is written to the original home except one ``model.reproduce`` audit event.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from loopml.core import audit, context
from loopml.errors import BackendError
from loopml.reproducibility.diagnose import compare_steps, verdict
from loopml.reproducibility.plan import build_plan

#: Settings a child must not inherit: the re-run uses its own embedded home, never the original's stores.
_STORE_VARIABLES = ("LOOPML_DB", "LOOPML_ARTIFACTS", "LOOPML_ONLINE", "LOOPML_CLUSTER", "LOOPML_HOME",
                    "LOOPML_CAPTURE")


@dataclass(frozen=True)
class Reproduction:
    """The outcome of :func:`reproduce`.

    Attributes:
        model: ``group:version``.
        outcome: ``identical`` (the digests are equal) or ``different``.
        summary: one line saying so, with the first difference and its likely cause.
        recorded_digest, reproduced_digest: the registered model and the re-made one (None when none was made).
        kind: ``pipeline`` or ``training``.
        first_difference: ``{"step", "detail"}`` or None.
        cause: ``{"kind": input|code|data|package|nondeterministic, "text", ...}`` or None.
        steps: every step compared: ``same``, ``same-but-ids`` (only identifiers differ) or ``different``.
        checks: what was checked before the re-run (inputs, code files, environment differences).
        metrics_agreement: when the model differs, whether the metrics agree within the bootstrap interval.
        seconds: wall time of the whole reproduction.
        workdir: the fresh folder (kept only with ``keep=True``).
    """

    model: str
    outcome: str
    summary: str
    recorded_digest: str
    reproduced_digest: str | None
    kind: str
    first_difference: dict[str, Any] | None = None
    cause: dict[str, Any] | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)
    metrics_agreement: dict[str, Any] | None = None
    seconds: float = 0.0
    workdir: str | None = None

    @property
    def identical(self) -> bool:
        return self.outcome == "identical"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def _repr_html_(self) -> str:
        from loopml.core.fragments import notebook
        from loopml.reproducibility.html import render_reproduction

        return notebook(render_reproduction(self.to_dict()))


def reproduce(ref: str, *, keep: bool = False, timeout: float = 3600.0) -> Reproduction:
    """Re-run what produced ``ref`` in a fresh home and compare the model digest with the registered one.

    Args:
        ref: a model version (``churn:3``, ``churn@approved``).
        keep: keep the fresh working folder (its path is ``workdir``) to look at the re-run's records.
        timeout: seconds the re-run may take.

    Returns:
        The :class:`Reproduction`; ``identical`` when the digests are equal.

    Raises:
        NotFoundError: no such version.
        ValidationError: the version records neither a pipeline execution nor a training run.
    """
    started = time.monotonic()
    plan = build_plan(ref)
    work = Path(tempfile.mkdtemp(prefix="loopml-reproduce-"))
    try:
        _stage(plan, work)
        result = _rerun(plan, work, timeout)
        steps = compare_steps(plan, result)
        found = verdict(plan, result, steps)
        outcome = Reproduction(
            model=plan["model"], outcome=found["outcome"], summary=found["summary"], recorded_digest=plan["digest"],
            reproduced_digest=result.get("digest"), kind=plan["kind"], first_difference=found["first_difference"],
            cause=found["cause"], steps=steps, checks=plan["checks"],
            metrics_agreement=result.get("metrics_agreement"), seconds=round(time.monotonic() - started, 2),
            workdir=str(work) if keep else None)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    _audit(plan, outcome)
    return outcome


def _stage(plan: dict[str, Any], work: Path) -> None:
    """Copy inputs and the original model out of the original store into ``work`` (reads only)."""
    from loopml import registry

    store = context.get_artifacts()
    (work / "inputs").mkdir()
    run = plan.get("run") or (_training_run(plan["training_run"]) if plan.get("training_run") else None)
    staged: dict[str, str] = {}
    for name, info in ((run or {}).get("spec", {}).get("channels") or {}).items():
        if info.get("type") == "file":
            staged[name] = info["path"]
            continue
        dest = work / "inputs" / name / info.get("file", "data.parquet")
        dest.parent.mkdir(parents=True)
        if store.exists(info["sha256"]):
            store.get_file(info["sha256"], dest)
            staged[name] = str(dest)
    plan["staged_channels"] = staged
    if run:
        data = staged.get("validation") or staged.get("train") or next(iter(staged.values()), None)
        plan["eval_data"] = data if data and data.endswith(".parquet") else None
        plan["label"] = (run.get("spec", {}).get("hyperparameters") or {}).get("target")
    if plan["kind"] == "training":
        plan["script"], plan["source_dir"] = _script(plan["run"])
    version = registry.get_version(plan["group"], plan["version"])
    plan["original_model"] = str(registry.fetch_model(version, work / "original-model"))


def _training_run(run_id: str) -> dict[str, Any]:
    from loopml import train

    found = train.get_run(run_id)
    return {"spec": found.spec}


def _script(run: dict[str, Any]) -> tuple[str | None, str | None]:
    """The script to re-run: where it was, or the job's own copy when the original changed since."""
    spec = run["spec"]
    if not spec.get("script"):
        return None, None
    if _script_changed(run) and Path(run["job_code"]).is_dir():
        if spec.get("source_dir"):
            return spec["script"], run["job_code"]
        return str(Path(run["job_code"]) / Path(spec["script"]).name), None
    return spec["script"], spec.get("source_dir")


def _script_changed(run: dict[str, Any]) -> bool:
    from loopml.reproducibility.plan import _script_check

    return bool(_script_check(run))


def _rerun(plan: dict[str, Any], work: Path, timeout: float) -> dict[str, Any]:
    (work / "plan.json").write_text(json.dumps(plan, default=str))
    env = {k: v for k, v in os.environ.items() if k not in _STORE_VARIABLES}
    here = str(Path(__file__).resolve().parents[2])  # the loopml that runs this, whatever the child's cwd
    path = [here, *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and Path(p).resolve() != Path(here)]]
    env.update(LOOPML_HOME=str(work / "home"), LOOPML_USER=context.current_user(), PYTHONPATH=os.pathsep.join(path))
    command = [sys.executable, "-m", "loopml.reproducibility._child", str(work / "plan.json"), str(work / "result.json")]
    try:
        done = subprocess.run(command, cwd=work, env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise BackendError(f"the re-run of {plan['model']} took longer than {timeout:.0f} s; pass a larger "
                           "timeout") from exc
    if not (work / "result.json").exists():
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-5:]
        raise BackendError(f"the re-run of {plan['model']} stopped without a result (exit {done.returncode}): "
                           f"{' | '.join(tail)}")
    result: dict[str, Any] = json.loads((work / "result.json").read_text())
    return result


def _audit(plan: dict[str, Any], outcome: Reproduction) -> None:
    details = {"outcome": outcome.outcome, "summary": outcome.summary, "reproduced_digest": outcome.reproduced_digest,
               "cause": (outcome.cause or {}).get("kind"), "first_difference": outcome.first_difference,
               "seconds": outcome.seconds, "kind": outcome.kind}
    with context.get_db().write() as conn:
        audit.append(conn, actor=context.current_user(), action="model.reproduce",
                     resource=f"model:{plan['group']}/{plan['version']}", details=details)


def last_reproduction(group: str, version: int) -> dict[str, Any] | None:
    """The newest ``model.reproduce`` audit event of a version (its details, who and when), or None."""
    with context.get_db().read() as conn:
        events = audit.events(conn, resource=f"model:{group}/{version}", action="model.reproduce", limit=1)
    for event in events:
        if event.resource == f"model:{group}/{version}":
            return {**(event.details or {}), "by": event.actor, "at": event.ts}
    return None


__all__ = ["Reproduction", "last_reproduction", "reproduce"]
