"""Where the example pipelines live: the source checkout's ``examples/`` or the copy in the wheel."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from loopml.errors import NotFoundError


def example_path(name: str = "churn") -> Path:
    here = Path(__file__).resolve()
    candidates = [here.parents[3] / "examples" / name / "pipeline.py", here.parent / "_examples" / name / "pipeline.py"]
    for path in candidates:
        if path.is_file():
            return path
    raise NotFoundError(f"the {name} example was not found (looked in {', '.join(map(str, candidates))})")


def example_target(name: str = "churn") -> str:
    """``/path/to/examples/churn/pipeline.py:churn``."""
    return f"{example_path(name)}:{name}"


def load_example(name: str = "churn") -> ModuleType:
    """The example module (its constants: RECIPE, FEATURES, RULES…)."""
    import sys

    from loopml.pipelines import load_ref

    return sys.modules[load_ref(example_target(name)).fn.__module__]
