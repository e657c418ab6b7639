"""Labels on the registry that change nothing about the bytes: version tags (data-scientist) and removing an
alias (approver). Each change is audited in the same transaction."""

from __future__ import annotations

import re

from loopml.core import audit, context, identity
from loopml.errors import NotFoundError, ValidationError
from loopml.registry import _records
from loopml.registry._records import ModelVersion

_KEY = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
MAX_TAGS, MAX_VALUE = 50, 200


def _check(tags: dict[str, str]) -> dict[str, str]:
    for key, value in tags.items():
        if not _KEY.match(key):
            raise ValidationError(f"tag name {key!r} must be 1-64 letters, digits, '_', '.', ':' or '-'", tag=key)
        if not isinstance(value, str) or len(value) > MAX_VALUE:
            raise ValidationError(f"tag {key!r} must be text of at most {MAX_VALUE} characters", tag=key)
    return tags


def set_tags(group: str, version: int, tags: dict[str, str], *, actor: str | None = None) -> ModelVersion:
    """Add or replace tags of a version (data-scientist role; approval is untouched: tags are not the bytes).

    Raises:
        ValidationError: a bad tag name or value, or more than 50 tags.
    """
    actor = actor or context.current_user()
    with context.get_db().write() as conn:
        identity.require_role(conn, actor, "data-scientist", action=f"tag {group}:{version}")
        found = _records.get_version(conn, group, version, lock=True)
        merged = {**found.tags, **_check(tags)}
        if len(merged) > MAX_TAGS:
            raise ValidationError(f"{group}:{version} would have {len(merged)} tags; the limit is {MAX_TAGS}")
        _records.update_version(conn, group, version, tags=merged)
        audit.append(conn, actor=actor, action="model.tags", resource=f"model:{group}/{version}",
                     details={"set": tags})
        return _records.get_version(conn, group, version)


def delete_tag(group: str, version: int, key: str, *, actor: str | None = None) -> ModelVersion:
    """Remove one tag of a version (data-scientist role).

    Raises:
        NotFoundError: the version has no such tag.
    """
    actor = actor or context.current_user()
    with context.get_db().write() as conn:
        identity.require_role(conn, actor, "data-scientist", action=f"untag {group}:{version}")
        found = _records.get_version(conn, group, version, lock=True)
        if key not in found.tags:
            raise NotFoundError(f"{group}:{version} has no tag {key!r}; its tags are {sorted(found.tags)}", tag=key)
        _records.update_version(conn, group, version, tags={k: v for k, v in found.tags.items() if k != key})
        audit.append(conn, actor=actor, action="model.tags", resource=f"model:{group}/{version}",
                     details={"deleted": key})
        return _records.get_version(conn, group, version)


def delete_alias(group: str, alias: str, *, actor: str | None = None) -> int:
    """Remove an alias of a group (approver role); returns the version it pointed at.

    Raises:
        NotFoundError: the group has no such alias.
    """
    actor = actor or context.current_user()
    with context.get_db().write() as conn:
        identity.require_role(conn, actor, "approver", action=f"remove alias {alias!r} of {group}")
        pointed = _records.get_alias(conn, group, alias)
        if pointed is None or not _records.drop_alias(conn, group, alias):
            raise NotFoundError(f"model group {group!r} has no alias {alias!r}", group=group, alias=alias)
        audit.append(conn, actor=actor, action="model.alias.delete", resource=f"model:{group}/{pointed}",
                     details={"alias": alias})
        return int(pointed)
