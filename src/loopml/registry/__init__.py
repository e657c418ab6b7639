"""The model registry: versioned, approval-gated source of truth for every model.

Model groups hold versions numbered 1, 2, 3…; each version points at a model folder in the
content-addressed store by digest, with its flavor, signature, metrics, evaluation, lineage and an
approval status (``PendingManualApproval`` → ``Approved`` | ``Rejected``). Approving needs the approver
role and, by default, someone other than the version's creator; every change is in the audit log.
"""

from loopml.registry._records import APPROVED, PENDING, REJECTED, ModelGroup, ModelVersion
from loopml.registry.cards import card, render_card, update_card
from loopml.registry.lineage import lineage
from loopml.registry.queries import (
    approval_trail,
    fetch_model,
    get_group,
    get_version,
    latest_approved,
    list_groups,
    list_versions,
    load_model,
    parse_ref,
    previous_approved,
    resolve,
)
from loopml.registry.versions import (
    approve,
    create_group,
    delete_group,
    register,
    register_run,
    reject,
    reopen,
    set_alias,
    set_group_settings,
)

__all__ = [
    "APPROVED", "PENDING", "REJECTED", "ModelGroup", "ModelVersion", "approval_trail", "approve", "card",
    "create_group", "delete_group", "fetch_model", "get_group", "get_version", "latest_approved", "lineage",
    "list_groups", "list_versions", "load_model", "parse_ref", "previous_approved", "register", "register_run", "reject",
    "render_card", "reopen", "resolve", "set_alias", "set_group_settings", "update_card",
]
