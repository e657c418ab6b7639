"""One concrete, valid request per policy entry, over the ``world`` fixture's data."""

from __future__ import annotations

from typing import Any

P = "/api/v1"
M = P + "/models/{group}"
V = M + "/versions/{version}"
E = P + "/executions/{execution_id}"

#: (method, template) -> (concrete path, JSON body or None)
SAMPLES: dict[tuple[str, str], tuple[str, Any]] = {
    ("GET", P + "/me"): (P + "/me", None),
    ("GET", P + "/models"): (P + "/models", None),
    ("GET", M): (P + "/models/churn", None),
    ("DELETE", M): (P + "/models/churn", None),
    ("PUT", M + "/settings"): (P + "/models/churn/settings", {"allow_self_approval": False}),
    ("PUT", M + "/aliases/{alias}"): (P + "/models/churn/aliases/production", {"version": 1}),
    ("GET", P + "/versions"): (P + "/versions", None),
    ("GET", M + "/versions"): (P + "/models/churn/versions", None),
    ("POST", M + "/versions"): (P + "/models/churn/versions", {"artifact": "sha256:" + "0" * 64}),
    ("GET", V): (P + "/models/churn/versions/1", None),
    ("POST", V + "/approve"): (P + "/models/churn/versions/1/approve", {"note": "ok"}),
    ("POST", V + "/reject"): (P + "/models/churn/versions/1/reject", {"note": "no"}),
    ("POST", V + "/reopen"): (P + "/models/churn/versions/1/reopen", {"note": "again"}),
    ("GET", V + "/card"): (P + "/models/churn/versions/1/card", None),
    ("GET", V + "/lineage"): (P + "/models/churn/versions/1/lineage", None),
    ("GET", V + "/trail"): (P + "/models/churn/versions/1/trail", None),
    ("GET", P + "/executions"): (P + "/executions", None),
    ("GET", E): (P + "/executions/ex_missing", None),
    ("GET", E + "/steps/{step}/logs"): (P + "/executions/ex_missing/steps/train/logs", None),
    ("POST", E + "/resume"): (P + "/executions/ex_missing/resume", None),
    ("GET", P + "/pipelines"): (P + "/pipelines", None),
    ("POST", P + "/pipelines/{name}/runs"): (P + "/pipelines/unknown/runs", {"params": {"seed": 1}}),
    ("GET", P + "/runs"): (P + "/runs", None),
    ("GET", P + "/runs/{run_id}"): (P + "/runs/run_missing", None),
    ("GET", P + "/runs/{run_id}/metrics/{key}"): (P + "/runs/run_missing/metrics/auc", None),
    ("GET", P + "/run-comparisons"): (P + "/run-comparisons?ids=run_missing", None),
    ("GET", P + "/endpoints"): (P + "/endpoints", None),
    ("GET", P + "/endpoints/{name}"): (P + "/endpoints/churn-live", None),
    ("POST", P + "/endpoints"): (P + "/endpoints", {"name": "churn-live", "model": "churn@nothing-approved",
                                                    "webhook": "http://127.0.0.1:9/hook"}),
    ("POST", P + "/endpoints/{name}/deployments"): (P + "/endpoints/churn-live/deployments", {"model": "churn:1"}),
    ("POST", P + "/endpoints/{name}/rollback"): (P + "/endpoints/churn-live/rollback", None),
    ("DELETE", P + "/endpoints/{name}"): (P + "/endpoints/churn-live", None),
    ("GET", P + "/monitoring/schedules"): (P + "/monitoring/schedules", None),
    ("GET", P + "/monitoring/schedules/{name}"): (P + "/monitoring/schedules/nightly", None),
    ("GET", P + "/monitoring/executions"): (P + "/monitoring/executions", None),
    ("GET", P + "/monitoring/executions/{execution_id}"): (P + "/monitoring/executions/mex_missing", None),
    ("GET", P + "/alarms"): (P + "/alarms", None),
    ("GET", P + "/alarms/{name}"): (P + "/alarms/drift", None),
    ("GET", P + "/rules"): (P + "/rules", None),
    ("GET", P + "/rules/{name}"): (P + "/rules/retrain", None),
    ("GET", P + "/events"): (P + "/events", None),
    ("GET", P + "/datasets"): (P + "/datasets", None),
    ("GET", P + "/datasets/{name}"): (P + "/datasets/customers", None),
    ("GET", P + "/datasets/{name}/versions"): (P + "/datasets/customers/versions", None),
    ("GET", P + "/datasets/{name}/versions/{version}"): (P + "/datasets/customers/versions/1", None),
    ("GET", P + "/feature-groups"): (P + "/feature-groups", None),
    ("GET", P + "/feature-groups/{name}"): (P + "/feature-groups/customer", None),
    ("GET", P + "/audit"): (P + "/audit", None),
    ("GET", P + "/audit/verify"): (P + "/audit/verify", None),
    ("GET", P + "/users"): (P + "/users", None),
    ("POST", P + "/users/{name}/roles"): (P + "/users/zoe/roles", {"role": "viewer"}),
    ("DELETE", P + "/users/{name}/roles/{role}"): (P + "/users/vic/roles/viewer", None),
    ("GET", P + "/tokens"): (P + "/tokens", None),
    ("DELETE", P + "/tokens/{token_id}"): (P + "/tokens/tok_missing", None),
}
