"""The authorization policy: one table from route to the roles allowed to call it (deny by default).

Every route of the API router has an entry keyed by ``(method, path template)``; every route is a
:class:`~loopml.api.auth.PolicyRoute`, which looks the matched route up here *before* the route parses its
body or looks anything up, and refuses a route it does not find, so a route added without a policy is
unreachable rather than open, and a refused caller gets 403 whether or not the object exists. An identity
with no role (never granted, or every role revoked) reaches only ``/me``; an ``invoker`` (an application) reaches
``/me`` and the runtime routes of :data:`RUNTIME`, nothing else. ``tests/api/test_policy.py`` enumerates ``app.routes`` and fails on
any route missing from the table. Governance rules that depend on the object (separation of duties, owner of
a token) are enforced again by the stage functions, which receive the caller as ``actor``.
"""

from __future__ import annotations

from dataclasses import dataclass

READ = frozenset({"viewer", "data-scientist", "approver", "admin"})
#: ``invoker`` calls endpoints (:data:`RUNTIME`) and reads ``/me``, nothing else: the role of an application's token.
INVOKER = "invoker"
WRITE = frozenset({"data-scientist", "admin"})
APPROVE = frozenset({"approver", "admin"})
ADMIN = frozenset({"admin"})
PREFIX = "/api/v1"

#: Paths served without a token (no data behind them): health probes and the static UI shell.
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/", "/ui", "/favicon.ico"})
PUBLIC_PREFIXES = ("/ui/",)


@dataclass(frozen=True)
class Rule:
    """Who may call a route: any of ``roles``; ``owner`` names an object-level rule the stage enforces.

    ``no_role`` admits an authenticated identity that holds no role at all (only ``/me``, so a user can see
    who they are and that they need a grant).
    """

    roles: frozenset[str]
    owner: str = ""
    no_role: bool = False

    def admits(self, roles: frozenset[str]) -> bool:
        """Whether a caller holding ``roles`` may call the route."""
        return bool(roles & self.roles) or (self.no_role and not roles)


_M = PREFIX + "/models/{group}"
_V = _M + "/versions/{version}"
_E = PREFIX + "/executions/{execution_id}"

POLICY: dict[tuple[str, str], Rule] = {
    ("GET", PREFIX + "/me"): Rule(READ | {INVOKER}, no_role=True),
    # model registry
    ("GET", PREFIX + "/models"): Rule(READ),
    ("GET", _M): Rule(READ),
    ("DELETE", _M): Rule(ADMIN),
    ("PUT", _M + "/settings"): Rule(ADMIN),
    ("PUT", _M + "/aliases/{alias}"): Rule(APPROVE),
    ("DELETE", _M + "/aliases/{alias}"): Rule(APPROVE),
    ("PUT", _V + "/tags/{key}"): Rule(WRITE),
    ("DELETE", _V + "/tags/{key}"): Rule(WRITE),
    ("GET", PREFIX + "/versions"): Rule(READ),
    ("GET", _M + "/versions"): Rule(READ),
    ("POST", _M + "/versions"): Rule(WRITE, owner="created_by is the caller"),
    ("GET", _V): Rule(READ),
    ("POST", _V + "/approve"): Rule(APPROVE, owner="not the version's creator"),
    ("POST", _V + "/reject"): Rule(APPROVE, owner="not the version's creator"),
    ("POST", _V + "/reopen"): Rule(APPROVE),
    ("GET", _V + "/card"): Rule(READ),
    ("GET", _V + "/lineage"): Rule(READ),
    ("GET", _V + "/trail"): Rule(READ),
    # pipelines
    ("GET", PREFIX + "/executions"): Rule(READ),
    ("GET", _E): Rule(READ),
    ("GET", _E + "/steps/{step}/logs"): Rule(READ),
    ("POST", _E + "/resume"): Rule(WRITE),
    ("GET", PREFIX + "/pipelines"): Rule(READ),
    ("POST", PREFIX + "/pipelines/{name}/runs"): Rule(WRITE),
    # training runs and experiments
    ("GET", PREFIX + "/runs"): Rule(READ),
    ("GET", PREFIX + "/runs/{run_id}"): Rule(READ),
    ("GET", PREFIX + "/runs/{run_id}/metrics/{key}"): Rule(READ),
    ("GET", PREFIX + "/run-comparisons"): Rule(READ),
    # HTML views and charts for the web UI (read-only)
    ("GET", PREFIX + "/runs/{run_id}/view"): Rule(READ),
    ("GET", _E + "/view"): Rule(READ),
    ("GET", _V + "/view"): Rule(READ),
    ("GET", _V + "/evaluation"): Rule(READ),
    ("GET", _V + "/lineage/view"): Rule(READ),
    ("GET", _V + "/reproduction/view"): Rule(READ),
    ("GET", _V + "/replays/view"): Rule(READ),
    ("GET", PREFIX + "/endpoints/{name}/replays/view"): Rule(READ),
    ("GET", PREFIX + "/endpoints/{name}/advice/view"): Rule(READ),
    ("GET", PREFIX + "/monitoring/executions/{execution_id}/view"): Rule(READ),
    ("POST", PREFIX + "/charts"): Rule(READ),
    ("GET", PREFIX + "/runs/{run_id}/artifacts"): Rule(READ),
    ("GET", PREFIX + "/runs/{run_id}/artifacts/{digest}"): Rule(READ),
    ("GET", _V + "/artifacts"): Rule(READ),
    ("GET", _V + "/artifacts/{digest}"): Rule(READ),
    ("GET", PREFIX + "/datapoints"): Rule(READ),
    ("GET", PREFIX + "/monitoring/schedules/{name}/violations"): Rule(READ),
    # endpoints
    ("GET", PREFIX + "/endpoints"): Rule(READ),
    ("GET", PREFIX + "/endpoints/{name}"): Rule(READ),
    ("POST", PREFIX + "/endpoints"): Rule(WRITE, owner="only Approved versions unless admin"),
    ("POST", PREFIX + "/endpoints/{name}/deployments"): Rule(WRITE, owner="only Approved versions unless admin"),
    ("POST", PREFIX + "/endpoints/{name}/rollback"): Rule(WRITE),
    ("DELETE", PREFIX + "/endpoints/{name}"): Rule(WRITE),
    # monitoring, alarms, rules and events
    ("GET", PREFIX + "/monitoring/schedules"): Rule(READ),
    ("GET", PREFIX + "/monitoring/schedules/{name}"): Rule(READ),
    ("GET", PREFIX + "/monitoring/executions"): Rule(READ),
    ("GET", PREFIX + "/monitoring/executions/{execution_id}"): Rule(READ),
    ("GET", PREFIX + "/alarms"): Rule(READ),
    ("GET", PREFIX + "/alarms/{name}"): Rule(READ),
    ("GET", PREFIX + "/rules"): Rule(READ),
    ("GET", PREFIX + "/rules/{name}"): Rule(READ),
    ("GET", PREFIX + "/events"): Rule(READ),
    # data and features
    ("GET", PREFIX + "/datasets"): Rule(READ),
    ("GET", PREFIX + "/datasets/{name}"): Rule(READ),
    ("GET", PREFIX + "/datasets/{name}/versions"): Rule(READ),
    ("GET", PREFIX + "/datasets/{name}/versions/{version}"): Rule(READ),
    ("GET", PREFIX + "/feature-groups"): Rule(READ),
    ("GET", PREFIX + "/feature-groups/{name}"): Rule(READ),
    # audit and identity
    ("GET", PREFIX + "/audit"): Rule(READ),
    ("GET", PREFIX + "/audit/verify"): Rule(ADMIN),
    ("GET", PREFIX + "/users"): Rule(ADMIN),
    ("POST", PREFIX + "/users/{name}/roles"): Rule(ADMIN),
    ("DELETE", PREFIX + "/users/{name}/roles/{role}"): Rule(ADMIN),
    ("GET", PREFIX + "/tokens"): Rule(READ, owner="own tokens; admins see all"),
    ("DELETE", PREFIX + "/tokens/{token_id}"): Rule(READ, owner="own token; admins any"),
}


#: SageMaker's runtime routes, served at the root (not under the REST prefix) by ``api._sagemaker`` for AWS SDKs:
#: calling a model is for the roles that work with models and for ``invoker`` (an application), not for viewers.
INVOKE = frozenset({"data-scientist", "approver", "admin", INVOKER})
RUNTIME: dict[tuple[str, str], Rule] = {
    ("POST", "/endpoints/{name}/invocations"): Rule(INVOKE),
    ("POST", "/endpoints/{name}/async-invocations"): Rule(INVOKE),
}


def rule_for(method: str, path: str) -> Rule | None:
    """The rule for a route (HEAD is treated as GET), or None when the route has no policy."""
    return POLICY.get(("GET" if method == "HEAD" else method, path))


def is_public(path: str) -> bool:
    """Whether ``path`` is served without a token."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)
