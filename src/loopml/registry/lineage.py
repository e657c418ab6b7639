"""Lineage: which data and code produced a model version, with which parameters, and who approved it.

One indexed read of the version, its approval trail and its pipeline execution: answers in milliseconds
whatever the size of the registry (see bench/lineage_query.py).
"""

from __future__ import annotations

from typing import Any

from loopml import pipelines
from loopml.core import audit, context
from loopml.errors import NotFoundError
from loopml.registry import _records


def _execution(conn: Any, execution_id: str | None) -> dict[str, Any] | None:
    if not execution_id:
        return None
    try:
        info = pipelines.get_execution(execution_id, conn=conn)
    except NotFoundError:
        return {"id": execution_id, "missing": True}
    return {
        "id": info.id, "pipeline": info.name, "status": info.status, "params": info.params,
        "definition_hash": info.definition_hash, "code": info.code, "created_by": info.created_by,
        "started_at": info.started_at.isoformat(),
        "steps": [{"step": s.step, "status": s.status, "cache_hit": s.cache_hit, "code_hash": s.code_hash,
                   "inputs": {k: v.get("digest") for k, v in (s.inputs or {}).items()},
                   "output": s.output_digest} for s in info.steps],
    }


def _environment_summary(environment: dict[str, Any] | None) -> dict[str, Any] | None:
    """The recorded environment without its package list (``loopml reproduce`` reads the whole lock)."""
    if not environment:
        return None
    return {"python": environment.get("python"), "lock_sha256": environment.get("lock_sha256"),
            "packages": len(environment.get("packages") or {}), "threads": environment.get("threads"),
            "seeds": environment.get("seeds")}


class Lineage(dict[str, Any]):
    """The provenance of a version: a plain dict (JSON-ready) that a notebook shows as its graph."""

    def _repr_html_(self) -> str:
        from loopml.core.fragments import notebook
        from loopml.registry.html import render_lineage

        return notebook(render_lineage(self))


def lineage(group: str, version: int) -> Lineage:
    """The full provenance of ``group:version`` as a JSON-safe dict.

    Keys: ``model``, ``data``, ``code``, ``environment`` (python, lock digest, threads, seeds), ``params``, ``metrics``, ``evaluation``, ``execution``, ``run``,
    ``registered`` (who, when), ``approval`` (status, who, when, trail) and ``events`` (audit entries).
    """
    with context.get_db().read() as conn:
        mv = _records.get_version(conn, group, version)
        trail = _records.transitions(conn, group, version)
        execution = _execution(conn, mv.lineage.get("execution_id"))
        events = audit.events(conn, resource=f"model:{group}/{version}", limit=50, newest_first=False)
    code = dict(mv.lineage.get("code") or (execution or {}).get("code") or {})
    environment = code.pop("environment", None) or ((execution or {}).get("code") or {}).get("environment")
    if execution and isinstance(execution.get("code"), dict):
        execution["code"] = {k: v for k, v in execution["code"].items() if k != "environment"}
    if execution and "steps" in execution:
        code["step_code_hashes"] = {s["step"]: s["code_hash"] for s in execution["steps"]}
    approved = next((t for t in reversed(trail) if t["to"] == "Approved"), None)
    return Lineage({
        "model": {"name": mv.name, "group": group, "version": version, "digest": mv.digest, "flavor": mv.flavor,
                  "status": mv.status, "signature": mv.signature, "description": mv.description, "tags": mv.tags,
                  "trusted_by": mv.trusted_by},
        "data": list(mv.lineage.get("datasets") or []),
        "code": code,
        "environment": _environment_summary(environment),
        "params": {**((execution or {}).get("params") or {}), **(mv.lineage.get("params") or {})},
        "metrics": mv.metrics,
        "evaluation": {"digest": mv.evaluation_digest} if mv.evaluation_digest else None,
        "execution": execution,
        "run": mv.lineage.get("run_id"),
        "registered": {"by": mv.created_by, "at": mv.created_at.isoformat()},
        "approval": {"status": mv.status, "by": approved["actor"] if approved else None,
                     "at": approved["at"] if approved else None, "bound_digest": mv.approved_digest,
                     "trail": trail},
        "events": [{"seq": e.seq, "ts": e.ts, "actor": e.actor, "action": e.action} for e in events],
    })
