"""Registering model versions and governing them: approve, reject, aliases, group settings.

Every change runs in one write transaction with its audit event. Version numbers are assigned while the
group row is locked, so they are unique and gapless however many processes register at once.
Approving needs the ``approver`` role and, unless the group relaxes it, a different person than the one
who registered the version (separation of duties). Approval is bound to the version's digest.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from loopml import pipelines
from loopml.core import audit, bus, clock, context, identity, logs, names
from loopml.core.artifacts import parse_digest
from loopml.core.hashing import sha256_file
from loopml.core.integrity import record_artifact, recorded_media_type
from loopml.errors import (
    ArtifactCorrupted,
    ConflictError,
    PermissionDenied,
    UnsafeModelError,
    ValidationError,
)
from loopml.registry import _records
from loopml.registry._format import describe_folder, save_to_folder
from loopml.registry._records import APPROVED, PENDING, REJECTED, ModelGroup, ModelVersion

MODEL_MEDIA_TYPE = "application/vnd.loopml.model"
#: what a version's ``evaluation_digest`` must have been recorded as (``loopml.evaluate.records.save_report``)
REPORT_MEDIA_TYPE = "application/vnd.loopml.evaluation+json"
_log = logs.stage_logger("registry")
ALLOWED = {PENDING: (APPROVED, REJECTED), APPROVED: (REJECTED,), REJECTED: (PENDING,)}
AUTOMATION = identity.AUTOMATION_PREFIX + "auto-approval"
_ALIAS = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*")


def _actor(actor: str | None) -> str:
    return actor or context.current_user()


def _check_name(group: str) -> str:
    return names.check("model group", group)


def register(
    model: Any, group: str, *, description: str = "", tags: dict[str, str] | None = None,
    metrics: dict[str, Any] | None = None, lineage: dict[str, Any] | None = None, signature: Any = None,
    evaluation_digest: str | None = None, trust_code: bool = False, actor: str | None = None,
) -> ModelVersion:
    """Register a model as the next version of ``group`` (created on first use).

    Args:
        model: a fitted model object (saved in the loopml model format) or a folder already in that format.
        group: the model group name.
        description: free text shown in listings and the model card.
        tags: string labels.
        metrics: headline metrics, e.g. ``{"auc": 0.83}``.
        lineage: what produced it: ``{"datasets": [{"name", "version", "sha256"}], "run_id", "execution_id",
            "code": {"commit", "dirty"}, "params": {...}}``. Inside a pipeline step the execution and step are
            filled in automatically.
        signature: the input signature, when it cannot be inferred from the model.
        evaluation_digest: the digest of a stored evaluation report (``loopml.evaluate.records.save_report``
            or ``gate_challenger(...)["report"]``); anything else is refused.
        trust_code: the model is code you vouch for — a ``pyfunc`` pickle, a SageMaker inference script, or
            skops types outside the allowlist. It is recorded (``trusted_by``), shown to the approver, and
            replicas load it with ``trust=True`` once it is approved. Without it such a model is refused here,
            never first at deploy.
        actor: who registers (the API passes the token's user; default: the current user).

    Returns:
        The new version, ``PendingManualApproval`` (or ``Approved`` by the automation identity when the
        group has auto-approval on).

    Raises:
        UnsafeModelError: the model is code and ``trust_code`` is false, or it would be refused when loaded
            (external ONNX data, dangerous pickle globals...), named before anything is stored.
        ValidationError: a folder holds links, special or unlisted files, or ``evaluation_digest`` is not a
            stored evaluation report.
    """
    _check_name(group)
    actor = _actor(actor)
    store = context.get_artifacts()
    with tempfile.TemporaryDirectory(prefix="loopml-register-") as tmp:
        folder = save_to_folder(model, Path(tmp) / "model", signature=signature)
        runs_code = _check_loadable(folder, trust_code=trust_code)
        flavor, sig = describe_folder(folder)
        ref = store.put_dir(folder)
    full_lineage = {**_step_context(), **(lineage or {})}
    with context.get_db().write() as conn:
        identity.require_role(conn, actor, "data-scientist", action=f"register a model in {group}")
        _check_evaluation(conn, evaluation_digest)
        created = _records.ensure_group(conn, group, actor=actor)
        settings = _records.lock_group(conn, group).settings
        number = _records.next_version(conn, group)
        record_artifact(conn, ref, media_type=MODEL_MEDIA_TYPE, actor=actor)
        _records.insert_version(
            conn, group_name=group, version=number, digest=ref.sha256, flavor=flavor, signature=sig,
            status=PENDING, description=description, tags=tags or {}, metrics=metrics or {},
            evaluation_digest=evaluation_digest, lineage=full_lineage, card={}, created_by=actor,
            created_at=clock.now(), trusted_by=actor if runs_code else None)
        _records.add_transition(conn, group, number, None, PENDING, actor=actor, note="registered")
        if created:
            audit.append(conn, actor=actor, action="model.group.create", resource=f"model:{group}")
        audit.append(conn, actor=actor, action="model.register", resource=f"model:{group}/{number}",
                     details={"digest": ref.sha256, "flavor": flavor, "metrics": metrics or {},
                              "runs_code": runs_code})
        if settings.get("auto_approve"):
            version = _records.get_version(conn, group, number)
            _records.set_status(conn, version, APPROVED, actor=AUTOMATION, note="group auto-approval rule")
            audit.append(conn, actor=AUTOMATION, action="model.approve", resource=f"model:{group}/{number}",
                         details={"digest": ref.sha256, "rule": "auto_approve"})
            _state_change_event(conn, group, number, APPROVED, AUTOMATION)
        return _records.get_version(conn, group, number)


def _check_loadable(folder: Path, *, trust_code: bool) -> bool:
    """Run every check loading does (nothing is deserialised); True when the model is code."""
    from loopml import models

    try:
        return models.check(folder, trust=trust_code)[1]
    except UnsafeModelError as exc:
        hint = ("" if trust_code or "trust=True" not in exc.message else
                " To register code you built yourself, pass trust_code=True: it is recorded, shown to the approver, "
                "and runs in the replica sandbox only once another person approves it.")
        raise UnsafeModelError(f"refused to register: {exc.message}.{hint}", **exc.fields) from exc


def _check_evaluation(conn: Any, digest: str | None) -> None:
    if digest is None:
        return
    parse_digest(digest)
    if recorded_media_type(conn, digest) != REPORT_MEDIA_TYPE:
        raise ValidationError(
            f"evaluation_digest {digest} is not a stored evaluation report; pass the digest that "
            "loopml.evaluate.records.save_report(report) returns (or gate_challenger(...)['report'])",
            evaluation_digest=digest)


def register_run(run_id: str, group: str, *, entry_point: str | Path | None = None, container: str = "sklearn",
                 trust_code: bool = False, signature: Any = None, input_example: Any = None,
                 **options: Any) -> ModelVersion:
    """Register what a training job left in ``SM_MODEL_DIR`` as the next version of ``group``.

    A folder in the model format (built-ins, scripts that call ``loopml.models.save``) registers as it is. A
    script-mode job's plain files (``model.joblib``...) become a ``script`` model served by SageMaker's
    handlers: ``entry_point`` names the inference script, by default the job's own training script (the
    SageMaker estimator's ``deploy()`` does the same), checked against the sha256 the run recorded. The run,
    its code and its input datasets go into the lineage.

    Args:
        run_id: a COMPLETED training run with a model.
        group: the model group.
        entry_point / container / signature / input_example: see :func:`loopml.models.save_script`.
        trust_code: required for a script model (it is code); see :func:`register`.
        options: the other arguments of :func:`register` (description, tags, metrics, evaluation_digest...).
    """
    from loopml import models, train

    run = train.get_run(run_id)
    with tempfile.TemporaryDirectory(prefix="loopml-run-") as tmp:
        fetched = train.fetch_model(run_id, Path(tmp) / "out")
        folder = fetched
        if not (fetched / models.MANIFEST).exists():
            folder = Path(tmp) / "model"
            models.save_script(fetched, folder, entry_point=entry_point or _job_script(run), container=container,
                               signature=signature, input_example=input_example)
        lineage = {"run_id": run.id, "code": run.code, "datasets": _run_datasets(run), **options.pop("lineage", {})}
        return register(folder, group, trust_code=trust_code, lineage=lineage,
                        metrics=options.pop("metrics", None) or _final_metrics(run), **options)


def _job_script(run: Any) -> Path:
    spec = run.spec or {}
    script = Path(spec.get("source_dir") or "", spec.get("script") or "")
    recorded = (run.code or {}).get("script_sha256")
    if not spec.get("script") or not script.is_file() or recorded != sha256_file(script):
        raise ValidationError(f"run {run.id}'s training script {str(script)!r} is gone or changed since it ran; pass "
                              "entry_point= (the inference script to serve the model with)", run_id=run.id)
    return script


def _run_datasets(run: Any) -> list[dict[str, Any]]:
    return [{"name": c["name"], "version": c["version"], "sha256": c["sha256"], "channel": name}
            for name, c in (run.inputs or {}).items() if isinstance(c, dict) and c.get("type") == "dataset"]


def _final_metrics(run: Any) -> dict[str, Any]:
    return {k: v for k, v in (run.metrics or {}).items() if isinstance(v, (int, float))}


def _step_context() -> dict[str, Any]:
    found = pipelines.current_step()
    return {"execution_id": found[0], "step": found[1]} if found else {}


def create_group(name: str, *, description: str = "", actor: str | None = None) -> ModelGroup:
    """Create a model group, or return the existing one (idempotent and safe under concurrency)."""
    _check_name(name)
    actor = _actor(actor)
    with context.get_db().write() as conn:
        if _records.ensure_group(conn, name, actor=actor, description=description):
            audit.append(conn, actor=actor, action="model.group.create", resource=f"model:{name}")
        return _records.get_group(conn, name)


def _transition(group: str, version: int, to: str, *, note: str, actor: str | None, role: str) -> ModelVersion:
    actor = _actor(actor)
    store = context.get_artifacts()
    with context.get_db().write() as conn:
        identity.require_role(conn, actor, role, action=f"set {group}:{version} to {to}")
        current = _records.get_version(conn, group, version, lock=True)
        settings = _records.get_group(conn, group).settings
        if to not in ALLOWED.get(current.status, ()):
            raise ConflictError(
                f"{group}:{version} is {current.status}; from there it can go to "
                f"{', '.join(ALLOWED[current.status]) or 'nothing'}, not {to}", group=group, version=version)
        if to in (APPROVED, REJECTED) and actor == current.created_by and not settings.get("allow_self_approval"):
            raise PermissionDenied(
                f"separation of duties: {actor} registered {group}:{version} and may not "
                f"{'approve' if to == APPROVED else 'reject'} it; another approver must (an admin can relax this "
                f"per group with 'loopml model settings {group} --allow-self-approval')", group=group, version=version)
        if to == APPROVED:
            _verify_bytes(conn, store, current, actor)
        if not _records.set_status(conn, current, to, actor=actor, note=note):
            raise ConflictError(f"{group}:{version} changed while this request ran; look again and retry")
        verb = {APPROVED: "approve", REJECTED: "reject", PENDING: "reopen"}[to]
        audit.append(conn, actor=actor, action=f"model.{verb}", resource=f"model:{group}/{version}",
                     details={"digest": current.digest, "from": current.status, "note": note})
        _state_change_event(conn, group, version, to, actor)
        changed = _records.get_version(conn, group, version)
    logs.log_event(_log, f"model.{verb}", model=f"{group}:{version}", actor=actor, digest=changed.digest)
    return changed


def _state_change_event(conn: Any, group: str, version: int, state: str, actor: str) -> None:
    """Tell rules a version changed state (e.g. "on approval, roll it out"); same transaction as the change."""
    bus.emit("Model Version State Change", source="loopml.registry", resource=f"model:{group}:{version}",
                detail={"group": group, "version": version, "model": f"{group}:{version}", "state": state,
                        "actor": actor}, conn=conn)


def _verify_bytes(conn: Any, store: Any, version: ModelVersion, actor: str) -> None:
    manifest = store.read_manifest(version.digest)
    if not all(store.verify(entry["sha256"]) for entry in manifest["files"]):
        raise ArtifactCorrupted(
            f"the stored files of {version.name} no longer match digest {version.digest}; it cannot be approved",
            digest=version.digest)


def approve(group: str, version: int, *, note: str = "", actor: str | None = None) -> ModelVersion:
    """Approve a version for deployment (approver role; not its creator unless the group allows it)."""
    return _transition(group, version, APPROVED, note=note, actor=actor, role="approver")


def reject(group: str, version: int, *, note: str = "", actor: str | None = None) -> ModelVersion:
    """Reject a version (approver role; not its creator unless the group allows it)."""
    return _transition(group, version, REJECTED, note=note, actor=actor, role="approver")


def reopen(group: str, version: int, *, note: str = "", actor: str | None = None) -> ModelVersion:
    """Send a rejected version back to PendingManualApproval."""
    return _transition(group, version, PENDING, note=note, actor=actor, role="approver")


def set_group_settings(group: str, *, allow_self_approval: bool | None = None, auto_approve: bool | None = None,
                       actor: str | None = None) -> ModelGroup:
    """Change a group's governance settings (admin only; audited)."""
    actor = _actor(actor)
    with context.get_db().write() as conn:
        identity.require_role(conn, actor, "admin", action=f"change the settings of model group {group}")
        before = _records.lock_group(conn, group).settings
        after = dict(before)
        if allow_self_approval is not None:
            after["allow_self_approval"] = allow_self_approval
        if auto_approve is not None:
            after["auto_approve"] = auto_approve
        _records.set_group_settings(conn, group, after)
        audit.append(conn, actor=actor, action="model.group.settings", resource=f"model:{group}",
                     details={"before": before, "after": after})
        return _records.get_group(conn, group)


def set_alias(group: str, alias: str, version: int, *, expected: int | None = None,
              actor: str | None = None) -> int | None:
    """Point an alias (``production``) at an Approved version with compare-and-swap.

    Args:
        expected: the version the caller believes the alias points at now (None: unset). When another writer
            moved it first, :class:`ConflictError` (HTTP 409).

    Returns:
        The previous version the alias pointed at.
    """
    names.check("alias", alias, narrower=_ALIAS, rule="1-200 ASCII letters, digits, '_' or '-', starting with a "
                "letter or digit (no '.': 'churn@production' names it)", example="production")
    actor = _actor(actor)
    with context.get_db().write() as conn:
        identity.require_role(conn, actor, "approver", action=f"move alias {alias!r} of {group}")
        target = _records.get_version(conn, group, version)
        if not target.is_deployable:
            raise ConflictError(f"{target.name} is {target.status}; only Approved versions can hold an alias")
        if not _records.swap_alias(conn, group, alias, version, expected=expected, actor=actor):
            now = _records.get_alias(conn, group, alias)
            raise ConflictError(f"alias {alias!r} of {group} now points at version {now}, not {expected}; "
                                "another change won — look again and retry")
        audit.append(conn, actor=actor, action="model.alias", resource=f"model:{group}/{version}",
                     details={"alias": alias, "previous": expected})
    return expected


def delete_group(group: str, *, actor: str | None = None) -> None:
    """Delete a model group with its versions, aliases and approval trail (admin only; audited)."""
    actor = _actor(actor)
    with context.get_db().write() as conn:
        identity.require_role(conn, actor, "admin", action=f"delete model group {group}")
        _records.lock_group(conn, group)
        _records.delete_group(conn, group)
        audit.append(conn, actor=actor, action="model.group.delete", resource=f"model:{group}")
