"""The one rule for the names of things users create: model groups, aliases, datasets, experiments, alarms,
schedules, event rules, endpoints, feature groups, pipelines, users.

A name is 1-200 ASCII letters, digits, ``.``, ``_`` or ``-``, starting with a letter or a digit. So ``.``,
``..``, ``../../x``, a name with a slash, a control character, a space, or a look-alike such as a Cyrillic
``с`` in place of a Latin ``c`` is never a name; every name can be written in a URL path as it is, and two
names that look the same are the same name. Some kinds narrow the rule (an endpoint name is also a host-name
label, a dataset name is also a SQL table name); a narrower rule is checked after this one, never instead of it.

The library checks names when an object is created; the CLI and the REST API call the library, and the API's
path parameters carry :data:`PATTERN` too, so all three refuse the same names with the same message.
"""

from __future__ import annotations

import re

from loopml.errors import ValidationError

MAX_LENGTH = 200
PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}")
_RULE = "1-200 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit"


def is_name(name: object) -> bool:
    """True when ``name`` follows the one rule for names."""
    return isinstance(name, str) and _NAME.fullmatch(name) is not None


def check(kind: str, name: object, *, narrower: re.Pattern[str] | None = None, rule: str = "",
          example: str = "churn") -> str:
    """Return ``name`` if it is a valid name of a ``kind``, else raise :class:`ValidationError`.

    Args:
        kind: what is named, for the message (``"model group"``).
        name: the proposed name.
        narrower: a stricter pattern this kind also needs (matched whole), or None.
        rule: the stricter rule in words, for the message.
        example: a valid name of this kind, for the message.

    Raises:
        ValidationError: the name breaks the rule (the message says the rule and gives an example).
    """
    if not is_name(name) or (narrower is not None and narrower.fullmatch(str(name)) is None):
        shown = repr(name) if not isinstance(name, str) else repr(name[:80])
        raise ValidationError(f"{kind} name {shown} is not allowed: use {rule or _RULE}, e.g. {example!r}",
                              name=name)
    return str(name)
