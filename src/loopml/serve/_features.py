"""Joining online features into requests that carry only entity ids (the endpoint process does this).

The values come from the feature store's online store, written by the same ingest/materialize path that
builds training sets, so serving sees the same feature definitions as training.
"""

from __future__ import annotations

import json
from typing import Any, cast

from loopml.errors import ValidationError
from loopml.serve._decode import parse_json
from loopml.serve.errors import MalformedRequest


def _records(doc: Any) -> list[dict[str, Any]]:
    rows = doc
    if isinstance(doc, dict) and len(doc) == 1 and next(iter(doc)) in ("instances", "inputs", "dataframe_records"):
        rows = next(iter(doc.values()))
    if isinstance(rows, dict):
        rows = [rows]
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise MalformedRequest("this endpoint joins online features: send JSON records holding the entity keys, "
                               'e.g. [{"customer_id": 42}]')
    return rows


def join_online(body: bytes, group: str, columns: list[str]) -> bytes:
    """The request with each record completed by its entity's online features, projected to ``columns``.

    Values sent in the request win over stored ones. An unknown entity (or one past the group's TTL) is a 422
    naming the record.
    """
    from loopml.features import get_feature_group, get_online_features

    rows = _records(parse_json(body))
    keys = get_feature_group(group).group.key_names
    # a list of entity ids gives a list of records, one per entity
    found = cast(list[dict[str, Any]], get_online_features(group, [{k: r.get(k) for k in keys} for r in rows]))
    merged = []
    for i, (row, features) in enumerate(zip(rows, found, strict=True)):
        if features is None or all(v is None for k, v in features.items() if k not in keys):
            raise ValidationError(f"record {i}: entity {[row.get(k) for k in keys]} has no online features in "
                                  f"group {group!r} (unknown, or older than the group's TTL)", pointer=f"/{i}")
        full = {**features, **row}
        merged.append({c: full.get(c) for c in columns} if columns else
                      {k: v for k, v in full.items() if k not in keys})
    return json.dumps(merged).encode()
