"""Model cards: what people wrote (intended use, limitations, ethics) plus everything the registry knows."""

from __future__ import annotations

import html
import json
from typing import Any

from loopml.core import audit, context
from loopml.errors import ValidationError
from loopml.registry import _records
from loopml.registry.lineage import lineage

USER_FIELDS = ("intended_use", "limitations", "ethical_considerations")


def update_card(group: str, version: int, *, actor: str | None = None, **fields: str) -> dict[str, Any]:
    """Set the user-written parts of a card (``intended_use``, ``limitations``, ``ethical_considerations``)."""
    unknown = sorted(set(fields) - set(USER_FIELDS))
    if unknown:
        raise ValidationError(f"unknown card fields {unknown}; editable fields are {', '.join(USER_FIELDS)}")
    actor = actor or context.current_user()
    with context.get_db().write() as conn:
        from loopml.core import identity

        identity.require_role(conn, actor, "data-scientist", action=f"edit the card of {group}:{version}")
        mv = _records.get_version(conn, group, version, lock=True)
        card = {**mv.card, **{k: v for k, v in fields.items() if v is not None}}
        _records.update_version(conn, group, version, card=card)
        audit.append(conn, actor=actor, action="model.card.update", resource=f"model:{group}/{version}",
                     details={"fields": sorted(fields)})
    return card


def _evaluation(digest: str | None) -> dict[str, Any] | None:
    if not digest:
        return None
    try:
        evaluation: dict[str, Any] | None = json.loads(context.get_artifacts().get_bytes(digest))
        return evaluation
    except (ValueError, UnicodeDecodeError):
        return {"digest": digest}


def card(group: str, version: int) -> dict[str, Any]:
    """The whole card as a dict (user fields, metrics, evaluation, bias, data, lineage, approvals)."""
    with context.get_db().read() as conn:
        mv = _records.get_version(conn, group, version)
    facts = lineage(group, version)
    evaluation = _evaluation(mv.evaluation_digest)
    return {
        "model": facts["model"],
        **{k: mv.card.get(k, "") for k in USER_FIELDS},
        "metrics": mv.metrics,
        "evaluation": evaluation,
        "bias": (evaluation or {}).get("bias"),
        "training_data": facts["data"],
        "code": facts["code"],
        "params": facts["params"],
        "execution": facts["execution"] and {k: facts["execution"][k] for k in ("id", "pipeline", "status")},
        "registered": facts["registered"],
        "approval": facts["approval"],
    }


def render_card(data: dict[str, Any], fmt: str = "md") -> str:
    """Render a card as ``md``, ``html`` or ``json``."""
    if fmt == "json":
        return json.dumps(data, indent=2, default=str)
    if fmt not in ("md", "html"):
        raise ValidationError(f"unknown card format {fmt!r}; use md, html or json")
    markdown = _markdown(data)
    if fmt == "md":
        return markdown
    return _html(data)


def _rows(mapping: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(k), json.dumps(v, default=str) if isinstance(v, (dict, list)) else str(v)) for k, v in mapping.items()]


def _sections(data: dict[str, Any]) -> list[tuple[str, Any]]:
    model, approval = data["model"], data["approval"]
    return [
        ("Model", {"name": model["name"], "flavor": model["flavor"], "status": model["status"],
                   "digest": model["digest"], "description": model["description"],
                   "runs code": f"yes, vouched for by {model['trusted_by']}" if model.get("trusted_by") else "no"}),
        ("Intended use", data["intended_use"] or "_not written yet_"),
        ("Limitations", data["limitations"] or "_not written yet_"),
        ("Ethical considerations", data["ethical_considerations"] or "_not written yet_"),
        ("Metrics", data["metrics"] or "_none recorded_"),
        ("Bias", _bias_table(data["bias"]) if data["bias"] else "_no bias analysis attached_"),
        ("Training data", {d.get("name", f"#{i}"): d.get("sha256", "") for i, d in enumerate(data["training_data"])}
         or "_not recorded_"),
        ("Code", data["code"] or "_not recorded_"),
        ("Parameters", data["params"] or "_none_"),
        ("Registered", data["registered"]),
        ("Approval", {"status": approval["status"], "approved by": approval["by"], "at": approval["at"]}),
        ("Approval trail", {f"{i + 1}. {t['from'] or '-'} → {t['to']}": f"{t['actor']} at {t['at']} {t['note']}"
                            for i, t in enumerate(approval["trail"])}),
    ]


class Table:
    """A section body with a header row (the bias metrics: one row per sensitive column and facet)."""

    def __init__(self, header: list[str], rows: list[list[str]], note: str = "") -> None:
        self.header, self.rows, self.note = header, rows, note


def _bias_table(bias: Any) -> Table | str:
    """Clarify bias metrics as a table: one row per facet, one column per metric any facet has a value for."""
    if not isinstance(bias, list) or not all(isinstance(f, dict) for f in bias):
        return json.dumps(bias, default=str)
    metrics: list[str] = []
    for facet in bias:
        for name, value in {**(facet.get("pre_training") or {}), **(facet.get("post_training") or {})}.items():
            if value is not None and name not in metrics:
                metrics.append(name)
    rows = [[str(f.get("column", "")), str(f.get("facet", "")), str(f.get("n_d", "")), str(f.get("n_a", ""))]
            + [_number({**(f.get("pre_training") or {}), **(f.get("post_training") or {})}.get(m)) for m in metrics]
            for f in bias]
    note = ("Facet d is the row's value of the sensitive column; facet a is every other row. Metrics are "
            "SageMaker Clarify's: pre-training on the labels, post-training on the predictions.")
    return Table(["column", "facet", "n (facet)", "n (others)", *metrics], rows, note)


def _number(value: Any) -> str:
    if value is None:
        return "—"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _markdown(data: dict[str, Any]) -> str:
    lines = [f"# Model card: {data['model']['name']}", ""]
    for title, body in _sections(data):
        lines += [f"## {title}", ""]
        if isinstance(body, Table):
            lines += ["| " + " | ".join(body.header) + " |", "|" + "---|" * len(body.header)]
            lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body.rows]
            lines += ["", body.note]
        elif isinstance(body, dict):
            lines += ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in _rows(body)]
        else:
            lines.append(str(body))
        lines.append("")
    return "\n".join(lines)


def _html(data: dict[str, Any]) -> str:
    parts = [f"<h1>Model card: {html.escape(data['model']['name'])}</h1>"]
    for title, body in _sections(data):
        parts.append(f"<h2>{html.escape(title)}</h2>")
        if isinstance(body, Table):
            head = "".join(f"<th>{html.escape(h)}</th>" for h in body.header)
            rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body.rows)
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
                         f"<p>{html.escape(body.note)}</p>")
        elif isinstance(body, dict):
            rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in _rows(body))
            parts.append(f"<table>{rows}</table>")
        else:
            parts.append(f"<p>{html.escape(str(body))}</p>")
    style = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#222}"
             "table{border-collapse:collapse}th,td{border:1px solid #ddd;padding:.3rem .6rem;text-align:left}"
             "th{background:#f5f5f5}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(data['model']['name'])}"
            f"</title><style>{style}</style></head><body>{''.join(parts)}</body></html>")
