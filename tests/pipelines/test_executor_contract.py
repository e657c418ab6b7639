"""The executor contract (loopml.testing.executor_contract) over every back end in the table."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopml.pipelines import executor_names
from loopml.testing.executor_contract import contract_for

CASES = [pytest.param(name, check, id=f"{name}-{check.__name__}",
                      marks=[pytest.mark.ray] if name == "ray" else [])
         for name in executor_names() for check in contract_for(name)]


@pytest.mark.parametrize(("executor", "check"), CASES)
def test_executor_contract(executor: str, check, home: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if executor == "ray":
        request.getfixturevalue("ray_cluster_env")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    check(executor, scratch)


def test_every_executor_in_the_table_is_covered() -> None:
    assert set(executor_names()) == {"inline", "local", "ray"}
