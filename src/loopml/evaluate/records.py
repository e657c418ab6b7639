"""Evaluation reports as artifacts: the JSON report (with the gate's verdict) and its HTML rendering,
both content-addressed; and the gate as a step that compares a challenger with the group's champion."""

from __future__ import annotations

import json
from typing import Any

from loopml import registry
from loopml.core import audit, bus, context
from loopml.core.integrity import record_artifact
from loopml.errors import NotFoundError, ValidationError
from loopml.evaluate.evaluation import evaluate
from loopml.evaluate.gate import Gate, GateResult
from loopml.evaluate.html import render_fragment, render_html
from loopml.evaluate.report import EvaluationReport
from loopml.registry.versions import REPORT_MEDIA_TYPE

HTML_MEDIA_TYPE = "text/html"


def save_report(report: EvaluationReport, *, gate: GateResult | None = None, champion: str | None = None,
                challenger: str | None = None) -> str:
    """Store the report (JSON, with the gate verdict) and its HTML; returns the JSON artifact's digest."""
    store, actor = context.get_artifacts(), context.current_user()
    html_ref = store.put_bytes(render_html(report, gate=gate).encode())
    body = {**report.to_dict(), "gate": gate.model_dump(mode="json") if gate else None,
            "champion": champion, "challenger": challenger, "html": html_ref.sha256}
    ref = store.put_bytes(json.dumps(body, allow_nan=False, sort_keys=True).encode())
    with context.get_db().write() as conn:
        record_artifact(conn, html_ref, media_type=HTML_MEDIA_TYPE, actor=actor)
        record_artifact(conn, ref, media_type=REPORT_MEDIA_TYPE, actor=actor)
    return ref.sha256


def load_report(digest: str) -> dict[str, Any]:
    """A stored report as a dict (hash verified)."""
    try:
        data = json.loads(context.get_artifacts().get_bytes(digest))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationError(f"artifact {digest} is not an evaluation report (not JSON)") from exc
    if not isinstance(data, dict) or "metrics" not in data or "html" not in data:
        raise ValidationError(f"artifact {digest} is not an evaluation report saved by save_report; store reports "
                              "with loopml.evaluate.records.save_report(report)")
    return data


def report_for(ref: str) -> dict[str, Any]:
    """The report of ``GROUP:VERSION`` (or a report digest ``sha256:…``)."""
    if ref.startswith("sha256:"):
        return load_report(ref)
    version = registry.resolve(ref)
    if not version.evaluation_digest:
        raise NotFoundError(f"{version.name} has no evaluation report attached")
    return load_report(version.evaluation_digest)


def report_fragment(ref: str) -> dict[str, Any]:
    """The stored report of ``GROUP:VERSION`` (or a digest) as an HTML fragment, with the gate's verdict.

    Returns:
        ``{"html", "passed" (None without a gate), "champion"}``.

    Raises:
        NotFoundError: the version has no report; ValidationError: the artifact is not a report.
    """
    data = report_for(ref)
    try:
        report = EvaluationReport.model_validate({k: v for k, v in data.items() if k in EvaluationReport.model_fields})
        gate = GateResult.model_validate(data["gate"]) if data.get("gate") else None
    except ValueError as exc:
        raise ValidationError(f"the evaluation report of {ref} does not have the report's shape: {exc}") from exc
    return {"html": render_fragment(report, gate=gate), "passed": gate.passed if gate else None,
            "champion": data.get("champion")}


def report_html(ref: str) -> str:
    """The HTML rendering stored with a report."""
    return context.get_artifacts().get_bytes(report_for(ref)["html"]).decode()


def gate_challenger(model: Any, test_data: Any, *, label: str, group: str, rules: list[str],
                    slices: tuple[str, ...] = (), sensitive: tuple[str, ...] = (), shap_sample: int = 500,
                    bootstrap: int = 100, seed: int = 0) -> dict[str, Any]:
    """Score a challenger and the group's current champion (newest Approved version) on the same rows and
    apply the gate. Returns ``{"passed", "report", "rules", "metrics", "champion"}``; a failing verdict is
    also recorded as a ``gate.failed`` event in the audit log."""
    gate = Gate.from_rules(rules)
    champion_version = None
    try:
        champion_version = registry.latest_approved(group)
    except NotFoundError:
        champion_version = None
    incumbent = registry.load_model(champion_version) if champion_version else None
    report = evaluate(model, test_data, label=label, incumbent=incumbent, slices=slices, sensitive=sensitive,
                      shap_sample=shap_sample, bootstrap=bootstrap, seed=seed)
    verdict = gate.evaluate(report)
    champion = champion_version.name if champion_version else None
    digest = save_report(report, gate=verdict, champion=champion)
    outcome: dict[str, Any] = {
        "passed": verdict.passed, "report": digest, "champion": champion,
        "metrics": {k: v for k, v in report.metrics.items() if v is not None},
        "rules": [{"rule": r.rule, "passed": r.passed, "observed": r.observed, "reason": r.reason}
                  for r in verdict.rules],
    }
    if not verdict.passed:
        failed = [r["rule"] for r in outcome["rules"] if not r["passed"]]
        with context.get_db().write() as conn:
            audit.append(conn, actor=context.current_user(), action="gate.failed", resource=f"model:{group}",
                         details={"report": digest, "champion": champion, "failed": failed})
            bus.emit("Challenger Rejected", source="loopml.evaluate", resource=f"model:{group}",
                        detail={"group": group, "champion": champion, "report": digest, "failed": failed}, conn=conn)
    return outcome
