"""Lineage: which data and code produced a model version, with which parameters, and who approved it.

One indexed read of the version, its approval trail and its pipeline execution: answers in milliseconds
whatever the size of the registry (see bench/lineage_query.py).
"""

from __future__ import annotations

from typing import Any

from loopml.core import audit, context
from loopml.errors import NotFoundError
from loopml.registry import _records


def _execution(conn: Any, execution_id: str | None) -> dict[str, Any] | None:
    if not execution_id:
        return None
    from loopml.pipelines._records import get_execution

    try:
        info = get_execution(conn, execution_id)
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


def lineage(group: str, version: int) -> dict[str, Any]:
    """The full provenance of ``group:version`` as a JSON-safe dict.

    Keys: ``model``, ``data``, ``code``, ``params``, ``metrics``, ``evaluation``, ``execution``, ``run``,
    ``registered`` (who, when), ``approval`` (status, who, when, trail) and ``events`` (audit entries).
    """
    with context.get_db().read() as conn:
        mv = _records.get_version(conn, group, version)
        trail = _records.transitions(conn, group, version)
        execution = _execution(conn, mv.lineage.get("execution_id"))
        events = audit.events(conn, resource=f"model:{group}/{version}", limit=50, newest_first=False)
    code = dict(mv.lineage.get("code") or (execution or {}).get("code") or {})
    if execution and "steps" in execution:
        code["step_code_hashes"] = {s["step"]: s["code_hash"] for s in execution["steps"]}
    approved = next((t for t in reversed(trail) if t["to"] == "Approved"), None)
    return {
        "model": {"name": mv.name, "group": group, "version": version, "digest": mv.digest, "flavor": mv.flavor,
                  "status": mv.status, "signature": mv.signature, "description": mv.description, "tags": mv.tags},
        "data": list(mv.lineage.get("datasets") or []),
        "code": code,
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
    }
