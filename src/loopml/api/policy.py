"""The authorization policy: one table from route to the roles allowed to call it (deny by default).

Every route of the API router has an entry keyed by ``(method, path template)``; the ``authorize``
dependency looks the matched route up here and refuses a route it does not find, so a route added without a
policy is unreachable rather than open. ``tests/api/test_policy.py`` enumerates ``app.routes`` and fails on
any route missing from the table. Governance rules that depend on the object (separation of duties, owner of
a token) are enforced again by the stage functions, which receive the caller as ``actor``.
"""

from __future__ import annotations

from dataclasses import dataclass

READ = frozenset({"viewer", "data-scientist", "approver", "admin"})
WRITE = frozenset({"data-scientist", "admin"})
APPROVE = frozenset({"approver", "admin"})
ADMIN = frozenset({"admin"})
PREFIX = "/api/v1"

#: Paths served without a token (no data behind them): health probes and the static UI shell.
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/", "/favicon.ico"})
PUBLIC_PREFIXES = ("/ui/",)


@dataclass(frozen=True)
class Rule:
    """Who may call a route: any of ``roles``; ``owner`` names an object-level rule the stage enforces."""

    roles: frozenset[str]
    owner: str = ""


_M = PREFIX + "/models/{group}"
_V = _M + "/versions/{version}"
_E = PREFIX + "/executions/{execution_id}"

POLICY: dict[tuple[str, str], Rule] = {
    ("GET", PREFIX + "/me"): Rule(READ),
    # model registry
    ("GET", PREFIX + "/models"): Rule(READ),
    ("GET", _M): Rule(READ),
    ("DELETE", _M): Rule(ADMIN),
    ("PUT", _M + "/settings"): Rule(ADMIN),
    ("PUT", _M + "/aliases/{alias}"): Rule(APPROVE),
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


def rule_for(method: str, path: str) -> Rule | None:
    """The rule for a route (HEAD is treated as GET), or None when the route has no policy."""
    return POLICY.get(("GET" if method == "HEAD" else method, path))


def is_public(path: str) -> bool:
    """Whether ``path`` is served without a token."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)
