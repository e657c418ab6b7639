"""Checks of the numbers public entry points take: each raises :class:`~loopml.errors.ValidationError`
naming the parameter, the value, the allowed range and the fix, before anything is looked up or started.

Public entry points declare their constraints once with :func:`validate_params` (``Interval``,
``Options``, ``Pattern``, ``Typed``, ``NONE``), as scikit-learn does; the message names the parameter,
the function, the allowed range or set and the value given.

The metadata database stores 64-bit integers, and a count or a duration that is NaN, infinite or beyond
what a computer can wait for is never what a user meant.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from typing import Any, TypeVar

from loopml.errors import ValidationError

MAX_INT = 2**63 - 1
MAX_PAGE = 1_000_000
"""The largest page a list function returns at once (the REST API allows 500)."""


def integer(value: Any, name: str, *, low: int | None = 0, high: int = MAX_INT) -> int:
    """``value`` as an int in ``[low, high]``.

    Raises:
        ValidationError: not an integer, or out of range.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not number.is_integer():
            raise ValidationError(f"{name} must be a whole number, not {value!r}")
        value = int(number)
    if (low is not None and value < low) or value > high:
        allowed = f"between {low} and {high}" if low is not None else f"at most {high}"
        raise ValidationError(f"{name} must be {allowed}, not {value}")
    return int(value)


def number(value: Any, name: str, *, low: float | None = None, high: float | None = None,
           above: float | None = None) -> float:
    """``value`` as a finite float, ``>= low``, ``<= high`` and ``> above`` where given.

    Raises:
        ValidationError: NaN, infinite, not a number, or out of range.
    """
    try:
        result = float(value)
    except (TypeError, ValueError):
        result = math.nan
    if not math.isfinite(result):
        raise ValidationError(f"{name} must be a finite number, not {value!r}")
    too_low = (low is not None and result < low) or (above is not None and result <= above)
    if too_low or (high is not None and result > high):
        raise ValidationError(f"{name} must be {_range(low, high, above)}, not {value!r}")
    return result


def _range(low: float | None, high: float | None, above: float | None) -> str:
    parts = [f"more than {above:g}"] if above is not None else []
    parts += [f"at least {low:g}"] if low is not None else []
    parts += [f"at most {high:g}"] if high is not None else []
    return " and ".join(parts)


def optional_number(value: Any, name: str, **bounds: Any) -> float | None:
    """Like :func:`number`, with ``None`` passed through (an unset option)."""
    return None if value is None else number(value, name, **bounds)


def page(limit: Any, offset: Any = 0, *, high: int = MAX_PAGE) -> tuple[int, int]:
    """A page of a list: ``limit`` in ``[1, high]``, ``offset`` in ``[0, 2**31 - 1]``."""
    return integer(limit, "limit", low=1, high=high), integer(offset, "offset", low=0, high=2**31 - 1)


def version(value: Any, what: str = "version") -> int:
    """A version number: a whole number from 1 up to what the database can store."""
    return integer(value, what, low=1)


def mapping(value: Any, name: str) -> dict[str, Any]:
    """``value`` as a dict (``None`` is empty); a list, number or string is refused."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(f"{name} must be a JSON object such as {{\"key\": 1}}, not {value!r}")
    return dict(value)


TEN_YEARS = 10 * 366 * 86400.0
"""The longest duration (in seconds) any setting accepts."""


def text(value: Any, name: str) -> str:
    """``value`` as text that can be stored and sent on: a str that is valid UTF-8 (no undecodable bytes)."""
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be text, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(f"{name} {value!r} is not valid UTF-8 (it holds undecodable bytes); use UTF-8 "
                              "text") from exc
    return value


# --- declared parameter constraints (after scikit-learn's ``_param_validation``) ---------------------------
class Interval:
    """Numbers of one kind (``int`` or ``float``) between ``left`` and ``right`` (None: unbounded).

    ``closed`` is ``"both"``, ``"left"``, ``"right"`` or ``"neither"``. Floats must be finite; ints are
    whole numbers (``4.0`` is accepted as 4, ``True`` is not); both are refused past what the database
    stores.
    """

    def __init__(self, kind: type, left: float | None, right: float | None, *, closed: str = "both") -> None:
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if not math.isfinite(value) or (self.kind is int and not float(value).is_integer()):
            return False
        if self.kind is int and not -MAX_INT - 1 <= value <= MAX_INT:
            return False
        left_ok = self.left is None or value > self.left or (value == self.left and self.closed in ("both", "left"))
        right_ok = self.right is None or value < self.right or (
            value == self.right and self.closed in ("both", "right"))
        return left_ok and right_ok

    def __str__(self) -> str:
        kind = "an int" if self.kind is int else "a float"
        lo = "-inf" if self.left is None else _plain(self.left)
        hi = "inf" if self.right is None else _plain(self.right)
        opening = "[" if self.left is not None and self.closed in ("both", "left") else "("
        closing = "]" if self.right is not None and self.closed in ("both", "right") else ")"
        return f"{kind} in the range {opening}{lo}, {hi}{closing}"


def _plain(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() and abs(bound) < 1e16 else f"{bound:g}"


class Options:
    """One of a fixed set of values (names of modes, strategies, kinds...)."""

    def __init__(self, *values: Any) -> None:
        self.values = values

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str | int | float | bool | None) and value in self.values

    def __str__(self) -> str:
        return "a str among {" + ", ".join(repr(v) for v in self.values) + "}"


class Pattern:
    """Text matching a regular expression; ``hint`` says in words what matches."""

    def __init__(self, regex: str, hint: str) -> None:
        import re

        self.regex, self.hint = re.compile(regex), hint

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and self.regex.fullmatch(value) is not None

    def __str__(self) -> str:
        return f"a str of {self.hint}"


class Typed:
    """Any instance of ``kind`` (``str`` for free text, ``bool`` for flags, ``dict`` for mappings)."""

    def __init__(self, kind: type, name: str | None = None) -> None:
        self.kind, self.name = kind, name or kind.__name__

    def accepts(self, value: Any) -> bool:
        return isinstance(value, self.kind) and (self.kind is bool or not isinstance(value, bool))

    def __str__(self) -> str:
        return f"an instance of {self.name!r}"


class _NoneConstraint:
    def accepts(self, value: Any) -> bool:
        return value is None

    def __str__(self) -> str:
        return "None"


NONE = _NoneConstraint()
"""Allows ``None`` (an unset option)."""

Constraint = Interval | Options | Pattern | Typed | _NoneConstraint


def _allowed(constraints: list[Constraint]) -> str:
    words = [str(c) for c in constraints]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def check_param(name: str, value: Any, constraints: list[Constraint], *, caller: str) -> None:
    """Raise :class:`~loopml.errors.InvalidParameter` unless one of ``constraints`` accepts ``value``.

    The message has scikit-learn's form: ``The 'max_queue' parameter of create must be an int in the
    range [0, 1e+06]. Got -5 instead.``
    """
    if any(c.accepts(value) for c in constraints):
        return
    from loopml.errors import InvalidParameter

    allowed = _allowed(constraints)
    raise InvalidParameter(f"The {name!r} parameter of {caller} must be {allowed}. Got {value!r} instead.",
                           parameter=name, value=value, allowed=allowed)


def check_params(constraints: dict[str, list[Constraint]], values: dict[str, Any], *, caller: str) -> None:
    """Check every value that has declared constraints (values without a declaration are not checked)."""
    for name, value in values.items():
        if name in constraints:
            check_param(name, value, constraints[name], caller=caller)


F = TypeVar("F", bound=Callable[..., Any])


def validate_params(constraints: dict[str, list[Constraint]]) -> Callable[[F], F]:
    """Declare a public function's parameter constraints; every call is checked before the body runs.

    The declaration is kept on the function as ``__loopml_constraints__`` (documentation and tests read it).

    Example:
        >>> @validate_params({"n": [Interval(int, 1, None)]})
        ... def repeat(n: int = 1) -> int:
        ...     return n
        >>> repeat(0)
        Traceback (most recent call last):
        loopml.errors.InvalidParameter: The 'n' parameter of repeat must be an int in the range [1, inf). Got 0 instead.
    """
    def decorate(func: F) -> F:
        signature = inspect.signature(func)
        unknown = set(constraints) - set(signature.parameters)
        if unknown:
            raise TypeError(f"{func.__qualname__} declares constraints for parameters it lacks: {sorted(unknown)}")

        @functools.wraps(func)
        def checked(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            check_params(constraints, dict(bound.arguments), caller=func.__name__)
            return func(*args, **kwargs)

        checked.__loopml_constraints__ = constraints  # type: ignore[attr-defined]
        return checked  # type: ignore[return-value]

    return decorate
