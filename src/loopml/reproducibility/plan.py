"""What a registered version was made from, read from its lineage in the original home (never written to).

A plan is JSON: the version and its digest, what produced it (a pipeline execution with every step, or one
training job), the recorded environment, and the checks that need no re-run — inputs whose recorded hash no
longer resolves, code files whose bytes changed since, packages whose version differs now.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from loopml import pipelines, registry, train
from loopml.core import context
from loopml.core.environment import environment_info
from loopml.core.hashing import sha256_file, sha256_path
from loopml.errors import ValidationError

#: loopml identifiers (``run_01J…``), which differ from one execution to the next by design.
ID_PATTERN = re.compile(r"^[a-z]{1,8}_[0-9a-hjkmnp-tv-z]{26}$", re.IGNORECASE)


def build_plan(ref: str) -> dict[str, Any]:
    """The plan for ``ref`` (``group:version``, ``group@approved``…).

    Raises:
        ValidationError: the version records neither a pipeline execution nor a training run, so there is
            nothing to re-run.
    """
    version = registry.resolve(ref)
    lineage = dict(registry.lineage(version.group, version.version))
    plan: dict[str, Any] = {"model": version.name, "group": version.group, "version": version.version,
                            "digest": version.digest, "flavor": version.flavor, "datasets": lineage.get("data") or []}
    execution_id = (lineage.get("execution") or {}).get("id")
    run_id = lineage.get("run")
    if execution_id:
        plan.update(kind="pipeline", execution=_execution(execution_id))
        plan["environment"] = plan["execution"]["environment"]
    elif run_id:
        plan.update(kind="training", run=_run(run_id))
        plan["environment"] = plan["run"]["environment"]
    else:
        raise ValidationError(
            f"{version.name} records neither a pipeline execution nor a training run, so there is nothing to re-run; "
            "register from a pipeline step or with registry.register_run(run_id, ...) to make a version reproducible")
    if run_id:
        plan["training_run"] = run_id
    plan["checks"] = _checks(plan)
    return plan


def _run(run_id: str) -> dict[str, Any]:
    found = train.get_run(run_id)
    return {"id": found.id, "spec": found.spec, "code": found.code, "environment": found.environment,
            "model_digest": found.model_digest, "params": found.params, "metrics": found.metrics,
            "job_code": str(context.get_settings().home / "train" / run_id / "code")}


def _execution(execution_id: str) -> dict[str, Any]:
    info = pipelines.get_execution(execution_id)
    ref, params = pipelines.execution_target(execution_id)
    code = dict(info.code)
    environment = code.pop("environment", None) or {}
    steps = []
    for s in info.steps:
        steps.append({"step": s.step, "status": s.status, "code_hash": s.code_hash, "output": s.output_digest,
                      "media_type": s.output_media_type, "value": _json_output(s.output_digest, s.output_media_type)})
    runs = {rid: train.get_run(rid).model_digest for s in steps for rid in ids_in(s["value"], "run")}
    return {"id": info.id, "ref": ref, "params": params, "code": code, "environment": environment,
            "steps": steps, "runs": runs}


def _json_output(digest: str | None, media_type: str | None) -> Any:
    if not digest or media_type != "application/json":
        return None
    import json

    return json.loads(context.get_artifacts().get_bytes(digest))


def ids_in(value: Any, prefix: str) -> list[str]:
    """Every loopml id starting with ``prefix_`` inside a JSON value, in order."""
    found: list[str] = []
    if isinstance(value, str) and ID_PATTERN.match(value) and value.startswith(prefix + "_"):
        found.append(value)
    elif isinstance(value, dict):
        for item in value.values():
            found += ids_in(item, prefix)
    elif isinstance(value, list):
        for item in value:
            found += ids_in(item, prefix)
    return found


# -- checks that need no re-run -----------------------------------------------------------------------
def _checks(plan: dict[str, Any]) -> dict[str, Any]:
    from loopml.core.environment import differences

    return {"environment": differences(plan.get("environment") or {}, environment_info()),
            "inputs": _input_checks(plan), "code": _code_checks(plan)}


def _input_checks(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Each recorded input and whether its hash still resolves: ``ok``, ``missing`` or ``changed``."""
    store = context.get_artifacts()
    found = []
    channels = (plan.get("run") or {}).get("spec", {}).get("channels") or {}
    for name, info in channels.items():
        entry = {"input": f"channel {name}", "sha256": info.get("sha256"), "source": info.get("name") or info.get("path")}
        if info.get("type") == "file":
            path = Path(info["path"])
            now = sha256_path(path) if path.exists() else None
            entry.update(status="ok" if now == info["sha256"] else "missing" if now is None else "changed", now=now)
        else:
            entry.update(status="ok" if store.exists(info["sha256"]) else "missing")
        found.append(entry)
    for data in plan.get("datasets") or []:
        sha = data.get("sha256")
        if isinstance(sha, str) and sha.startswith("sha256:"):
            found.append({"input": f"dataset {data.get('name')} v{data.get('version')}", "sha256": sha,
                          "source": data.get("name"), "status": "ok" if store.exists(sha) else "missing"})
    return found


def _code_checks(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Recorded code files whose bytes differ now, and a commit that is no longer the checkout's HEAD."""
    if plan["kind"] == "training":
        return _script_check(plan["run"])
    code = plan["execution"]["code"]
    found: list[dict[str, Any]] = []
    source = _ref_file(plan["execution"]["ref"])
    root = _git_root(source)
    if code.get("commit") and root is not None:
        head = _git(root, "rev-parse", "HEAD")
        if head and head != code["commit"]:
            found.append({"file": "HEAD", "recorded": code["commit"], "now": head, "what": "commit"})
    for name, recorded in (code.get("files") or {}).items():
        now = _file_sha(root / name) if root is not None else None
        if now != recorded:
            found.append({"file": name, "recorded": recorded, "now": now or "deleted", "what": "file"})
    return found


def _script_check(run: dict[str, Any]) -> list[dict[str, Any]]:
    spec, recorded = run["spec"], run["code"].get("script_sha256")
    if not spec.get("script") or not recorded:
        return []
    origin = Path(spec["source_dir"]) / spec["script"] if spec.get("source_dir") else Path(spec["script"])
    now = _file_sha(origin)
    return [] if now == recorded else [{"file": str(origin), "recorded": recorded, "now": now or "deleted",
                                        "what": "script"}]


def _ref_file(ref: str) -> Path | None:
    module_part = ref.rpartition(":")[0]
    if module_part.endswith(".py") or "/" in module_part:
        return Path(module_part)
    try:
        import importlib.util

        spec = importlib.util.find_spec(module_part)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin) if spec and spec.origin else None


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.decode().strip() if out.returncode == 0 else None


def _git_root(source: Path | None) -> Path | None:
    if source is None or not source.exists():
        return None
    top = _git(source.parent, "rev-parse", "--show-toplevel")
    return Path(top) if top else None


def _file_sha(path: Path) -> str | None:
    if not path.is_file():
        return None
    return sha256_file(path)
