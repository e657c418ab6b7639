"""A tiny, safe run-search language compiled to SQL (never ``eval``).

Grammar::

    query   := clause ( "and" clause )*
    clause  := field op value
    field   := ("metrics" | "params" | "tags") "." NAME  |  "status" | "kind" | "experiment" | "name"
    op      := "=" | "==" | "!=" | "<" | "<=" | ">" | ">="
    value   := number | 'string' | "string" | bare-word

Example: ``metrics.auc > 0.8 and params.max_depth = 6 and status = COMPLETED``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from loopml.errors import ValidationError
from loopml.train._tables import experiments, latest_metrics, run_params, runs

_TOKEN = re.compile(
    r"""\s*(?:(?P<str>'[^']*'|"[^"]*")|(?P<op>==|!=|<=|>=|=|<|>)|(?P<word>[A-Za-z0-9_.:\-+/@]+))"""
)
_OPS = {"=": "__eq__", "==": "__eq__", "!=": "__ne__", "<": "__lt__", "<=": "__le__", ">": "__gt__",
        ">=": "__ge__"}
_ATTRS = {"status": runs.c.status, "kind": runs.c.kind, "name": runs.c.name}
_HELP = ("write clauses like `metrics.auc > 0.8 and params.max_depth = 6 and status = COMPLETED` "
         "(fields: metrics.<key>, params.<key>, tags.<key>, status, kind, name, experiment)")


@dataclass(frozen=True)
class Clause:
    """One comparison: ``field op value``."""

    field: str
    op: str
    value: str | float


def _tokens(query: str) -> list[tuple[str, str]]:
    pos, out = 0, []
    while pos < len(query):
        if query[pos:].strip() == "":
            break
        match = _TOKEN.match(query, pos)
        if match is None or match.end() == pos:
            raise ValidationError(f"cannot read the search at {query[pos:]!r}; {_HELP}", query=query)
        kind = match.lastgroup or "word"
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def parse(query: str) -> list[Clause]:
    """Parse a search into clauses; raises ValidationError naming what is wrong."""
    tokens = _tokens(query)
    clauses, i = [], 0
    while i < len(tokens):
        if len(tokens) - i < 3 or tokens[i][0] != "word" or tokens[i + 1][0] != "op" or tokens[i + 2][0] == "op":
            raise ValidationError(f"incomplete clause in search {query!r}; {_HELP}", query=query)
        clauses.append(Clause(tokens[i][1], tokens[i + 1][1], _literal(*tokens[i + 2])))
        i += 3
        if i < len(tokens):
            if tokens[i] != ("word", tokens[i][1]) or tokens[i][1].lower() != "and":
                raise ValidationError(f"expected `and` but found {tokens[i][1]!r} in {query!r}; {_HELP}")
            i += 1
    if not clauses:
        raise ValidationError(f"empty search; {_HELP}")
    return clauses


def _literal(kind: str, text: str) -> str | float:
    if kind == "str":
        return text[1:-1]
    try:
        return float(text)
    except ValueError:
        return text


def compile_where(clauses: list[Clause]) -> list[Any]:
    """SQL conditions on ``runs`` (one EXISTS subquery per metric/param/tag clause)."""
    return [_condition(c) for c in clauses]


def _condition(clause: Clause) -> Any:
    op = _OPS[clause.op]
    scope, _, key = clause.field.partition(".")
    if scope == "metrics" and key:
        value = _number(clause)
        sub = sa.select(latest_metrics.c.run_id).where(
            latest_metrics.c.run_id == runs.c.id, latest_metrics.c.key == key,
            getattr(latest_metrics.c.value, op)(value))
        return sa.exists(sub)
    if scope == "params" and key:
        column = run_params.c.num if isinstance(clause.value, float) else run_params.c.value
        sub = sa.select(run_params.c.run_id).where(
            run_params.c.run_id == runs.c.id, run_params.c.key == key, getattr(column, op)(clause.value))
        return sa.exists(sub)
    if scope == "tags" and key:
        return getattr(_tag(key), op)(_plain(clause.value))
    if clause.field == "experiment":
        sub = sa.select(experiments.c.id).where(getattr(experiments.c.name, op)(str(clause.value)))
        return runs.c.experiment_id.in_(sub)
    if clause.field in _ATTRS:
        return getattr(_ATTRS[clause.field], op)(_plain(clause.value))
    raise ValidationError(f"unknown search field {clause.field!r}; {_HELP}", field=clause.field)


def _tag(key: str) -> Any:
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", key):
        raise ValidationError(f"tag name {key!r} may hold letters, digits, '_' and '-' only")
    return runs.c.tags[key].as_string()


def _plain(value: str | float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _number(clause: Clause) -> float:
    if not isinstance(clause.value, float):
        raise ValidationError(
            f"{clause.field} compares to {clause.value!r}, which is not a number; metrics compare to numbers")
    return clause.value



_ORDER = re.compile(r"^\s*(?P<field>\S+?)(?:\s+(?P<direction>asc|desc))?\s*$", re.IGNORECASE)
_ORDER_ATTRS = {"created_at": runs.c.created_at, "ended_at": runs.c.ended_at, "name": runs.c.name,
                "status": runs.c.status, "kind": runs.c.kind, "compute_seconds": runs.c.compute_seconds}
_ORDER_HELP = ("order by `metrics.<key>`, `params.<key>` or one of "
               f"{', '.join(sorted(_ORDER_ATTRS))}, then ASC or DESC (e.g. `metrics.auc DESC`)")


def _columns(field: str) -> list[Any]:
    scope, _, key = field.partition(".")
    if scope == "metrics" and key:
        return [sa.select(latest_metrics.c.value).where(
            latest_metrics.c.run_id == runs.c.id, latest_metrics.c.key == key).scalar_subquery()]
    if scope == "params" and key:  # numbers as numbers, then the rest as text
        return [sa.select(column).where(run_params.c.run_id == runs.c.id, run_params.c.key == key).scalar_subquery()
                for column in (run_params.c.num, run_params.c.value)]
    if field in _ORDER_ATTRS:
        return [_ORDER_ATTRS[field]]
    raise ValidationError(f"cannot order runs by {field!r}; {_ORDER_HELP}", order_by=field)


def order_terms(order_by: str) -> list[Any]:
    """``ORDER BY`` terms for ``metrics.auc DESC``, ``params.alpha``, ``created_at ASC``…; runs without the
    value come last, and ties go newest first."""
    match = _ORDER.match(order_by)
    if match is None:
        raise ValidationError(f"cannot order runs by {order_by!r}; {_ORDER_HELP}", order_by=order_by)
    descending = (match["direction"] or "asc").lower() == "desc"
    terms = [(c.desc() if descending else c.asc()).nulls_last() for c in _columns(match["field"])]
    return [*terms, runs.c.created_at.desc(), runs.c.id.desc()]
