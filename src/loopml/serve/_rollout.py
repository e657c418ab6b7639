"""Blue/green deployments inside the endpoint process: all at once, canary or linear, with alarms.

Green replicas are started and warmed up before they get any traffic (a green that cannot load, e.g.
a corrupted artifact, never receives a request). Traffic then shifts in steps; after each step the
green variant bakes while its error rate and p99 latency are watched. A tripped alarm puts all traffic
back on blue and records ``RolledBack``; otherwise blue is drained and stopped.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from loopml.core import audit, context, logs
from loopml.errors import LoopmlError
from loopml.serve import _records
from loopml.serve._router import Variant

_log = logs.stage_logger("serve")


def steps(dep: dict[str, Any]) -> list[float]:
    """Green's traffic percentage after each step of the strategy."""
    if dep["strategy"] == "canary":
        return [float(dep.get("canary_percent", 10)), 100.0]
    if dep["strategy"] == "linear":
        step = float(dep.get("step_percent", 25))
        return [min(100.0, step * i) for i in range(1, int(100 // step) + 1)] + ([] if 100 % step == 0 else [100.0])
    return [100.0]


def alarm(variant: Variant, rule: dict[str, Any]) -> str | None:
    """Why the green variant's alarm tripped, or None."""
    stats = variant.stats
    if stats.requests < int(rule.get("min_requests", 10)):
        return None
    rate = stats.errors_5xx / stats.requests
    if rate > float(rule.get("max_error_rate", 0.05)):
        return f"error rate {rate:.1%} over {stats.requests} requests > {float(rule.get('max_error_rate', 0.05)):.1%}"
    p99 = stats.summary()["p99_ms"]
    if rule.get("max_p99_ms") and p99 is not None and p99 > float(rule["max_p99_ms"]):
        return f"p99 latency {p99:.1f} ms > {rule['max_p99_ms']} ms"
    return None


class Rollouts:
    """Runs one deployment at a time for an endpoint process."""

    def __init__(self, process: Any) -> None:
        self.p = process
        self.busy = False
        self.state: dict[str, Any] = {}

    def _record(self, dep: dict[str, Any], *, status: str | None = None, action: str | None = None,
                actor: str | None = None) -> None:
        self.state = dep
        if dep.get("state") in ("Completed", "RolledBack", "Failed"):
            logs.log_event(_log, "deploy.rollback" if dep["state"] == "RolledBack" else "deploy.end",
                           endpoint=self.p.name, deployment=dep.get("id"), state=dep["state"],
                           model=(dep.get("to") or {}).get("model"), reason=dep.get("reason"))
        with context.get_db().write() as conn:
            values: dict[str, Any] = {"deployment": dep}
            if status:
                values["status"] = status
            if dep.get("state") == "Completed":
                e = _records.get(conn, self.p.name)
                shadows = [v for v in e.variants if v.get("shadow")]
                values["config"] = {**e.config, "variants": [{**dep["to"], "weight": 100.0}, *shadows]}
            _records.update(conn, self.p.name, **values)
            _records.add_event(conn, self.p.name, f"deployment.{dep['state'].lower()}",
                               {k: dep.get(k) for k in ("id", "strategy", "reason")})
            if action:
                audit.append(conn, actor=actor or dep.get("requested_by", "automation"), action=action,
                             resource=f"endpoint:{self.p.name}",
                             details={"deployment": dep.get("id"), "to": dep["to"]["model"],
                                      "digest": dep["to"]["digest"], "reason": dep.get("reason")})

    async def run(self, dep: dict[str, Any]) -> None:
        self.busy = True
        try:
            await self._run({**dep, "state": "InProgress", "started_at": time.time()})
        finally:
            self.busy = False

    async def _run(self, dep: dict[str, Any]) -> None:
        self._record(dep, status="Updating")
        router = self.p.router
        blue = router.serving()
        blue_weights = {v.name: v.weight for v in blue}
        try:
            green = self.p.make_variant({**dep["to"], "weight": 0.0})
            for _ in range(max(1, sum(len(v.replicas.live()) for v in blue))):
                await green.replicas.start()
        except LoopmlError as exc:
            self._record({**dep, "state": "Failed", "reason": f"green never became ready: {exc.message}"},
                         status="InService", action="endpoint.deploy_failed")
            return
        green.weight = 0.0
        router.variants.append(green)
        for pct in steps(dep):
            self._shift(green, blue, blue_weights, pct)
            reason = await self._bake(green, dep)
            if reason:
                await self._rollback(green, blue, blue_weights, {**dep, "reason": reason})
                return
        for variant in blue:
            router.variants.remove(variant)
        await asyncio.gather(*(v.replicas.stop_all() for v in blue))
        self._record({**dep, "state": "Completed", "finished_at": time.time()}, status="InService",
                     action="endpoint.update")

    def _shift(self, green: Variant, blue: list[Variant], weights: dict[str, float], pct: float) -> None:
        total = sum(weights.values()) or 1.0
        for variant in blue:
            variant.weight = (100.0 - pct) * weights[variant.name] / total
        green.weight = pct
        green.stats.reset()

    async def _bake(self, green: Variant, dep: dict[str, Any]) -> str | None:
        deadline = time.monotonic() + float(dep.get("bake_seconds", 0))
        while True:
            reason = alarm(green, dep.get("alarm") or {})
            if reason or time.monotonic() >= deadline:
                return reason
            await asyncio.sleep(0.05)

    async def _rollback(self, green: Variant, blue: list[Variant], weights: dict[str, float],
                        dep: dict[str, Any]) -> None:
        for variant in blue:
            variant.weight = weights[variant.name]
        green.weight = 0.0
        self.p.router.variants.remove(green)
        await green.replicas.stop_all()
        self._record({**dep, "state": "RolledBack", "finished_at": time.time()}, status="InService",
                     action="endpoint.rollback", actor="automation:rollout-alarm")
