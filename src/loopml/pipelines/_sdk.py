"""The ``@step`` / ``@pipeline`` SDK: plain Python calls build the DAG.

Inside a pipeline body, calling a step does not run it: it adds a node to the graph being built and
returns an :class:`Output` handle. Handles are passed to other steps (edges), indexed (``out["auc"]``)
and compared (``out["auc"] > 0.8``) to make a :class:`Condition` for :func:`when`.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import operator
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

from loopml.core import names
from loopml.core.hashing import PREFIX, sha256_path
from loopml.errors import ValidationError

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
    "is true": lambda value, _: bool(value),
}
_LITERALS = (bool, int, float, str, type(None))


@dataclass(frozen=True)
class Output:
    """A lazy reference to a step's output, optionally to an item inside it (``path``)."""

    node: str
    path: tuple[str | int, ...] = ()

    def __getitem__(self, key: str | int) -> Output:
        return Output(self.node, (*self.path, key))

    def _compare(self, op: str, other: Any) -> Condition:
        if not isinstance(other, _LITERALS):
            kind = "another step output" if isinstance(other, Output) else type(other).__name__
            raise ValidationError(
                f"a condition compares a step output with a literal (bool, int, float, str or None), "
                f"not with {kind}; compute the comparison inside a step and test its result with when()"
            )
        return Condition(self, op, other)

    def __gt__(self, other: Any) -> Condition:
        return self._compare(">", other)

    def __ge__(self, other: Any) -> Condition:
        return self._compare(">=", other)

    def __lt__(self, other: Any) -> Condition:
        return self._compare("<", other)

    def __le__(self, other: Any) -> Condition:
        return self._compare("<=", other)

    def __eq__(self, other: Any) -> Condition:  # type: ignore[override]
        return self._compare("==", other)

    def __ne__(self, other: Any) -> Condition:  # type: ignore[override]
        return self._compare("!=", other)

    def __hash__(self) -> int:
        return hash((self.node, self.path))

    def __invert__(self) -> Condition:
        """``~out``: a condition that the output is false (``when(~out["passed"])``)."""
        return ~self.is_true()

    def is_true(self) -> Condition:
        """A condition that the output is truthy; ``when(out)`` means the same."""
        return Condition(self, "is true", None)

    def eq(self, other: Any) -> Condition:
        """``out.eq(value)``: the same as ``out == value``."""
        return self._compare("==", other)

    def ne(self, other: Any) -> Condition:
        """``out.ne(value)``: the same as ``out != value``."""
        return self._compare("!=", other)

    def __bool__(self) -> bool:
        raise TypeError(
            "a step output is not known while the pipeline is being built; "
            "use `with when(output > x):` instead of `if`"
        )

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "path": list(self.path)}


@dataclass(frozen=True)
class Condition:
    """``output <op> value``, evaluated when the output exists."""

    left: Output
    op: str
    right: Any

    negated: bool = False

    def evaluate(self, value: Any) -> bool:
        return bool(_OPS[self.op](value, self.right)) != self.negated

    def __invert__(self) -> Condition:
        """``~cond``: the branch runs when ``cond`` does not hold."""
        return Condition(self.left, self.op, self.right, not self.negated)

    def describe(self) -> str:
        path = "".join(f"[{p!r}]" for p in self.left.path)
        text = f"{self.left.node}{path} {self.op}" + ("" if self.op == "is true" else f" {self.right!r}")
        return f"not ({text})" if self.negated else text

    def to_dict(self) -> dict[str, Any]:
        return {"left": self.left.to_dict(), "op": self.op, "right": self.right, "negated": self.negated}


@dataclass
class StepSpec:
    """A step function and its options (retries, timeout, caching, serializer)."""

    fn: Callable[..., Any]
    name: str
    retries: int = 0
    retry_backoff: float = 1.0
    timeout: float | None = None
    cache: bool = True
    serializer: Any = None
    cache_inputs: tuple[Any, ...] = ()
    resources: dict[str, Any] | None = None  # cpus, memory (bytes), gpus, custom: what a cluster node must have

    @property
    def ref(self) -> str:
        return f"{self.fn.__module__}:{self.fn.__qualname__}"

    def declared_inputs(self) -> list[Any]:
        """The current values of ``cache_inputs``: a file's or folder's sha256, or what a callable returns."""
        return [_declared_value(self.name, item) for item in self.cache_inputs]


def _declared_value(step_name: str, item: Any) -> Any:
    if isinstance(item, str | os.PathLike):
        return {"path": os.fspath(item), "sha256": _path_digest(Path(item))}
    try:
        return {"value": item()}
    except Exception as exc:
        raise ValidationError(
            f"cache input {getattr(item, '__name__', item)!r} of step {step_name!r} raised "
            f"{type(exc).__name__}: {exc}; fix it or remove it from cache_inputs"
        ) from exc


def _path_digest(path: Path) -> str | None:
    """sha256 over a file's bytes, or over a folder's relative paths and file bytes; None if missing."""
    if not path.exists():
        return None
    return sha256_path(path).removeprefix(PREFIX)  # recorded as bare hex


@dataclass
class Node:
    """One call of a step in a pipeline: its arguments (literals or handles) and its conditions."""

    id: str
    spec: StepSpec
    args: dict[str, Any]
    conditions: list[Condition] = field(default_factory=list)

    def upstream(self) -> set[str]:
        found = {v.node for v in self.args.values() if isinstance(v, Output)}
        return found | {c.left.node for c in self.conditions}


class _Builder:
    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.conditions: list[Condition] = []

    def add(self, spec: StepSpec, args: dict[str, Any]) -> Output:
        node_id, n = spec.name, 1
        while node_id in self.nodes:
            n += 1
            node_id = f"{spec.name}-{n}"
        self.nodes[node_id] = Node(node_id, spec, args, list(self.conditions))
        return Output(node_id)


_building: list[_Builder] = []


def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    try:
        return inspect.signature(fn, eval_str=True)
    except (NameError, TypeError):
        return inspect.signature(fn)


class Step:
    """A function decorated with :func:`step`. Called in a pipeline body it returns an :class:`Output`;
    called anywhere else it simply runs."""

    def __init__(self, spec: StepSpec) -> None:
        self.spec = spec
        self.signature = _signature(spec.fn)
        functools.update_wrapper(self, spec.fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not _building:
            return self.spec.fn(*args, **kwargs)
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise ValidationError(f"step {self.spec.name!r} was called with bad arguments: {exc}") from exc
        bound.apply_defaults()
        return _building[-1].add(self.spec, dict(bound.arguments))


@overload
def step(
    fn: Callable[..., Any], *, name: str | None = None, retries: int = 0,
    retry_backoff: float = 1.0, timeout: float | None = None, cache: bool = True, serializer: Any = None,
    cache_inputs: Sequence[str | os.PathLike[str] | Callable[[], Any]] = (),
    cpus: float | None = None, memory: int | str | None = None, gpus: float | None = None,
    resources: dict[str, float] | None = None,
) -> Any: ...


@overload
def step(
    fn: None = None, *, name: str | None = None, retries: int = 0,
    retry_backoff: float = 1.0, timeout: float | None = None, cache: bool = True, serializer: Any = None,
    cache_inputs: Sequence[str | os.PathLike[str] | Callable[[], Any]] = (),
    cpus: float | None = None, memory: int | str | None = None, gpus: float | None = None,
    resources: dict[str, float] | None = None,
) -> Callable[[Callable[..., Any]], Any]: ...


def step(
    fn: Callable[..., Any] | None = None, *, name: str | None = None, retries: int = 0,
    retry_backoff: float = 1.0, timeout: float | None = None, cache: bool = True, serializer: Any = None,
    cache_inputs: Sequence[str | os.PathLike[str] | Callable[[], Any]] = (),
    cpus: float | None = None, memory: int | str | None = None, gpus: float | None = None,
    resources: dict[str, float] | None = None,
) -> Any:
    """Make a function a pipeline step.

    Args:
        fn: the function (when used as ``@step`` without parentheses).
        name: the step's name in the graph (default: the function name).
        retries: how many times to retry after a failure, crash or timeout.
        retry_backoff: seconds before the first retry; doubles each time.
        timeout: seconds a single attempt may run before it is stopped and counted as failed.
        cache: reuse an earlier result with the same code, inputs and parameters.
        cache_inputs: what the step depends on that the cache key cannot see: paths of files or folders
            the step reads (their contents are hashed) and zero-argument callables whose JSON-able result
            is part of the key (for example the current champion's version, or a version string you
            bump when a helper function changes). Evaluated just before the step would run.
        serializer: an object with ``media_type``, ``dumps(obj) -> bytes`` and ``loads(bytes)`` for an
            output type loopml does not know.
        cpus: CPUs one attempt needs on a cluster node (default 1).
        memory: memory it needs (bytes, or ``"2GiB"``); Ray places it on a node with that much free.
        gpus: GPUs it needs.
        resources: custom node resources it needs, e.g. ``{"ssd": 1}``. On the ``ray`` executor a step
            asking for more than any node has fails at once, naming what the cluster offers; the
            ``local`` and ``inline`` executors ignore these requests.

    Example:
        >>> @step(retries=2)
        ... def double(x: int) -> int:
        ...     return 2 * x
        >>> double(4)
        8
    """
    request = _resource_request(cpus, memory, gpus, resources)

    def wrap(func: Callable[..., Any]) -> Step:
        if isinstance(cache_inputs, str | os.PathLike) or callable(cache_inputs):
            raise ValidationError(
                f"cache_inputs of step {name or func.__name__!r} is a list of paths and callables; "
                f"write cache_inputs=[{cache_inputs!r}]"
            )
        spec = StepSpec(func, name or func.__name__, retries, retry_backoff, timeout, cache, serializer,
                        tuple(cache_inputs), request)
        return Step(spec)

    return wrap(fn) if fn is not None else wrap


def _resource_request(cpus: float | None, memory: int | str | None, gpus: float | None,
                      custom: dict[str, float] | None) -> dict[str, Any] | None:
    if cpus is None and memory is None and gpus is None and not custom:
        return None
    from loopml.core.cluster import resources

    checked = resources(cpus=cpus, memory=memory, gpus=gpus, custom=custom)
    return {"cpus": checked.cpus, "memory": checked.memory, "gpus": checked.gpus, "custom": checked.custom}


class Pipeline:
    """A function decorated with :func:`pipeline`: its parameters are the run parameters."""

    def __init__(self, fn: Callable[..., Any], name: str) -> None:
        self.fn = fn
        self.name = names.check("pipeline", name, example="churn_retrain")
        self.signature = _signature(fn)
        functools.update_wrapper(self, fn)

    @property
    def ref(self) -> str:
        return f"{self.fn.__module__}:{self.fn.__qualname__}"

    def parameters(self) -> dict[str, inspect.Parameter]:
        return dict(self.signature.parameters)

    def build(self, params: dict[str, Any]) -> dict[str, Node]:
        """Run the body with concrete parameters and return the graph's nodes."""
        builder = _Builder()
        _building.append(builder)
        try:
            self.fn(**params)
        finally:
            _building.pop()
        if not builder.nodes:
            raise ValidationError(f"pipeline {self.name!r} calls no steps; call @step functions in its body")
        return builder.nodes

    def __call__(self, **params: Any) -> Any:
        from loopml.pipelines.engine import run

        return run(self, params=params)


def pipeline(fn: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
    """Make a function a pipeline. Its typed parameters with defaults are the run parameters."""
    def wrap(func: Callable[..., Any]) -> Pipeline:
        return Pipeline(func, name or func.__name__)

    return wrap(fn) if fn is not None else wrap


@contextlib.contextmanager
def when(condition: Condition | Output) -> Iterator[None]:
    """Steps called inside the block run only if ``condition`` holds; otherwise they are SKIPPED.

    ``condition`` compares a step output with a literal (``>``, ``>=``, ``<``, ``<=``, ``==``, ``!=``), or
    is a step output used as a boolean (``when(out["passed"])``, ``when(~out["passed"])``).
    """
    if isinstance(condition, Output):
        condition = condition.is_true()
    if not isinstance(condition, Condition):
        raise ValidationError(
            f"when() takes a step output or a comparison of one with a literal, such as "
            f"`out['auc'] > 0.8`, `out['status'] == 'ok'` or `out['passed']`; it got {type(condition).__name__} "
            f"{condition!r} (a comparison of two plain values is decided before the pipeline runs: use `if`)"
        )
    if not _building:
        raise ValidationError("when() is only meaningful inside a @pipeline body")
    _building[-1].conditions.append(condition)
    try:
        yield
    finally:
        _building[-1].conditions.pop()
