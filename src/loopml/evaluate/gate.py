"""The promotion gate: rules such as ``auc >= champion.auc - 0.01`` checked against a report.

Rules are parsed by a small recursive-descent parser (numbers, metric names, ``+ - * /``,
parentheses, ``abs``/``min``/``max`` and one comparison); nothing is ever passed to ``eval``.

Names a rule may use:

* a metric of the report (``accuracy``, ``auc``/``roc_auc``, ``f1``, ``rmse``...);
* ``champion.<metric>`` and ``delta.<metric>``: the incumbent's value and challenger minus
  champion; when there is no incumbent the rule passes with the reason "no incumbent";
* ``max_slice_drop`` and ``n_rows``;
* a Clarify bias metric (``DPPL``, ``DI``, ``CI``...): the rule must hold for every sensitive
  column and facet value, and the outcome reports the worst facet. ``DPPL[sex]`` limits the rule
  to the facets of column ``sex`` and ``DPPL[sex=F]`` to one facet.

A name that is undefined in the report (None) fails the rule with the report's reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

from pydantic import BaseModel, ConfigDict

from loopml.errors import ValidationError
from loopml.evaluate import bias, metrics
from loopml.evaluate.report import EvaluationReport

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|"
                    r"([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*){0,2}(?:\[[^\[\]=]+(?:=[^\[\]]*)?\])?)|"
                    r"(<=|>=|==|!=|[<>+\-*/(),]))")
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b,
    ">": lambda a, b: a > b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}
_FUNCTIONS: dict[str, Callable[..., float]] = {"abs": abs, "min": min, "max": max}
_MAX_RULE = 500
_MAX_DEPTH = 32
BIAS_METRICS = frozenset(bias.PRE_TRAINING + bias.POST_TRAINING)
_METRICS = frozenset(metrics.CLASSIFICATION_METRICS + metrics.REGRESSION_METRICS) | set(metrics.ALIASES)
_SCALARS = frozenset({"max_slice_drop", "n_rows"})
#: ``replay.<name>``: figures of a traffic replay (:func:`loopml.evaluate.replay.replay`) besides its evaluation.
REPLAY_SCALARS = frozenset({"agreement", "failure_rate", "failures", "rows", "labelled_rows", "shift",
                            "latency_p99_ms", "champion_latency_p99_ms"})


class GateError(ValidationError):
    """A gate rule does not parse or names something a report does not have."""


class RuleOutcome(BaseModel):
    """The result of one rule: whether it held, the value observed on its left side, and why."""

    model_config = ConfigDict(frozen=True)

    rule: str
    passed: bool
    observed: float | None = None
    reason: str


class GateResult(BaseModel):
    """All rules' outcomes; ``passed`` only when every rule passed."""

    model_config = ConfigDict(frozen=True)

    passed: bool
    rules: list[RuleOutcome]


def available_names() -> list[str]:
    """Every name a rule may use (``champion.`` and ``delta.`` prefix any metric)."""
    return sorted(_METRICS | _SCALARS | BIAS_METRICS) + ["champion.<metric>", "delta.<metric>",
                                                         "replay.<any name>", *sorted(f"replay.{n}" for n in REPLAY_SCALARS)]


class _Parser:
    """Recursive descent over: compare := expr OP expr; expr := term (('+'|'-') term)*;
    term := unary (('*'|'/') unary)*; unary := '-' unary | atom;
    atom := NUMBER | NAME | FUNC '(' expr (',' expr)* ')' | '(' expr ')'."""

    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.tokens = _tokenize(rule)
        self.pos = 0
        self.depth = 0

    def parse(self) -> tuple[str, Any, Any]:
        left = self.expr()
        op = self.take()
        if op is None or op not in _COMPARE:
            self.fail(f"expected a comparison ({', '.join(_COMPARE)}) after the left side, got {op!r}")
        right = self.expr()
        if self.pos != len(self.tokens):
            self.fail(f"unexpected {self.tokens[self.pos][1]!r} after the comparison")
        return op, left, right

    def expr(self) -> Any:
        node = self.term()
        while self.peek() in ("+", "-"):
            node = (self.take(), node, self.term())
        return node

    def term(self) -> Any:
        node = self.unary()
        while self.peek() in ("*", "/"):
            node = (self.take(), node, self.unary())
        return node

    def unary(self) -> Any:
        if self.peek() == "-":
            self.take()
            return ("neg", self.unary())
        return self.atom()

    def atom(self) -> Any:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            self.fail("the expression is nested too deeply")
        kind, text = self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")
        self.pos += 1
        if kind == "num":
            return ("num", float(text))
        if kind == "name" and self.peek() == "(":
            return self.call(text)
        if kind == "name":
            name, facet = _split_facet(text, self.rule)
            return ("name", _check_name(name, self.rule), facet)
        if text == "(":
            node = self.expr()
            self.expect(")")
            return node
        self.fail(f"expected a number, a name or '(' but got {text or 'the end of the rule'!r}")

    def call(self, name: str) -> Any:
        if name not in _FUNCTIONS:
            self.fail(f"unknown function {name!r}; functions are {sorted(_FUNCTIONS)}")
        self.expect("(")
        args = [self.expr()]
        while self.peek() == ",":
            self.take()
            args.append(self.expr())
        self.expect(")")
        if name == "abs" and len(args) != 1:
            self.fail("abs() takes exactly one argument")
        return ("call", name, args)

    def peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def take(self) -> str | None:
        token = self.peek()
        self.pos += 1
        return token

    def expect(self, text: str) -> None:
        if self.take() != text:
            self.fail(f"expected {text!r}")

    def fail(self, why: str) -> NoReturn:
        raise GateError(f"cannot parse gate rule {self.rule!r}: {why}.", rule=self.rule)


def _tokenize(rule: str) -> list[tuple[str, str]]:
    if len(rule) > _MAX_RULE:
        raise GateError(f"gate rule is {len(rule)} characters; the limit is {_MAX_RULE}.", rule=rule[:80])
    tokens, pos = [], 0
    while pos < len(rule.rstrip()):
        match = _TOKEN.match(rule, pos)
        if match is None:
            raise GateError(f"cannot parse gate rule {rule!r}: unexpected character {rule[pos:].strip()[:1]!r} "
                            f"at position {pos}.", rule=rule)
        num, name, op = match.groups()
        tokens.append(("num", num) if num else ("name", name) if name else ("op", op))
        pos = match.end()
    return tokens


def _split_facet(text: str, rule: str) -> tuple[str, tuple[str, str | None] | None]:
    """``DPPL[sex=F]`` -> ``("DPPL", ("sex", "F"))``; ``DPPL[sex]`` -> ``("DPPL", ("sex", None))``."""
    name, bracket, rest = text.partition("[")
    if not bracket:
        return name, None
    if name not in BIAS_METRICS:
        raise GateError(f"cannot parse gate rule {rule!r}: only bias metrics take a [column=value] "
                        f"qualifier, not {name!r}.", rule=rule)
    column, equals, value = rest.rstrip("]").partition("=")
    return name, (column.strip(), value.strip() if equals else None)


def _check_name(name: str, rule: str) -> str:
    prefix, _, rest = name.partition(".")
    if prefix == "replay" and rest:
        if rest in REPLAY_SCALARS:
            return name
        _check_name(rest, rule)
        return name
    if rest and prefix in ("champion", "delta") and rest in _METRICS:
        return name
    if not rest and (name in _METRICS or name in _SCALARS or name in BIAS_METRICS):
        return name
    raise GateError(f"unknown name {name!r} in gate rule {rule!r}; available names are {available_names()}.",
                    rule=rule, name=name)


def _leaves(node: Any) -> list[Any]:
    if node[0] in ("name", "num"):
        return [node]
    children = node[2] if node[0] == "call" else node[1:]
    return [leaf for child in children for leaf in _leaves(child)]


def _names(node: Any) -> set[str]:
    return {leaf[1] for leaf in _leaves(node) if leaf[0] == "name"}


def facet_filters(tree: tuple[str, Any, Any]) -> list[tuple[str, str | None]]:
    """The ``[column=value]`` qualifiers of the bias names in a parsed rule."""
    return [leaf[2] for side in tree[1:] for leaf in _leaves(side) if leaf[0] == "name" and leaf[2]]


class Gate:
    """A set of parsed rules; build it with :meth:`from_rules`."""

    def __init__(self, rules: list[tuple[str, tuple[str, Any, Any]]]) -> None:
        self._rules = rules

    @classmethod
    def from_rules(cls, rules: Iterable[str]) -> Gate:
        """Parse every rule; raises :class:`GateError` listing each rule that is wrong.

        Example:
            >>> Gate.from_rules(["auc >= 0.75", "abs(DPPL) <= 0.1"]).rules
            ['auc >= 0.75', 'abs(DPPL) <= 0.1']
        """
        parsed, errors = [], []
        for rule in rules:
            try:
                parsed.append((rule, _Parser(str(rule)).parse()))
            except GateError as exc:
                errors.append(exc.message)
        if errors:
            raise GateError(" ".join(errors), errors=errors)
        return cls(parsed)

    @property
    def rules(self) -> list[str]:
        """The rule texts, in order."""
        return [rule for rule, _ in self._rules]

    def evaluate(self, report: EvaluationReport | None, *, replay: dict[str, Any] | None = None) -> GateResult:
        """Check every rule against ``report``; ``replay.*`` names against ``replay``, a traffic replay's report
        (its evaluation on the replayed rows that have ground truth, and its ``summary`` figures)."""
        from loopml.evaluate._gate_eval import check_rule

        outcomes = []
        for rule, tree in self._rules:
            names = _names(tree[1]) | _names(tree[2])
            if any(n.startswith("replay.") for n in names):
                outcomes.append(_replay_rule(rule, tree, names, replay))
            elif report is None:
                outcomes.append(RuleOutcome(rule=rule, passed=False, reason="no evaluation report to check"))
            else:
                outcomes.append(check_rule(rule, tree, report, names=names))
        return GateResult(passed=all(o.passed for o in outcomes), rules=outcomes)


def _replay_rule(rule: str, tree: tuple[str, Any, Any], names: set[str], replay: dict[str, Any] | None) -> RuleOutcome:
    """A rule over a replay: its figures become numbers, its other names are looked up in its evaluation."""
    from loopml.evaluate._gate_eval import check_rule
    from loopml.evaluate.replay import _evaluation

    if replay is None:
        return RuleOutcome(rule=rule, passed=False, reason="the rule reads a replay and none was given; run "
                           "'loopml evaluate replay ENDPOINT --challenger G:V' (or evaluate.replay.replay) first")
    if any(not n.startswith("replay.") for n in names):
        return RuleOutcome(rule=rule, passed=False, reason="a rule may not mix replay.* names with others")
    summary = replay.get("summary") or {}
    missing = [n for n in names if n[7:] in REPLAY_SCALARS and summary.get(n[7:]) is None]
    if missing:
        return RuleOutcome(rule=rule, passed=False, reason=f"{missing[0]} is undefined: the replay has no value "
                           f"(rows replayed: {summary.get('rows', 0)})")

    def strip(node: Any) -> Any:
        if node[0] == "name":
            rest = node[1][7:]
            return ("num", float(summary[rest])) if rest in REPLAY_SCALARS else ("name", rest, node[2])
        if node[0] == "num":
            return node
        if node[0] == "call":
            return ("call", node[1], [strip(a) for a in node[2]])
        return (node[0], *[strip(child) for child in node[1:]])

    plain = (tree[0], strip(tree[1]), strip(tree[2]))
    rest = _names(plain[1]) | _names(plain[2])
    evaluation = _evaluation(replay)
    if rest and evaluation is None:
        return RuleOutcome(rule=rule, passed=False, reason="no ground truth arrived for the replayed rows, so "
                           f"{sorted(rest)[0]} cannot be computed; upload labels with 'loopml endpoint ground-truth'")
    if evaluation is None:
        from loopml.evaluate.report import EvaluationReport as Empty

        evaluation = Empty.model_construct(metrics={}, reasons={}, comparison=None, bias=[], n_rows=0)
    found = check_rule(rule, plain, evaluation, names=rest)
    return found.model_copy(update={"reason": f"on replayed traffic: {found.reason}"})


