"""Step caching: what the key sees, and cache_inputs for what it cannot (files a step reads, outside state)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopml.errors import ValidationError
from loopml.pipelines import run, step

COND = Path(__file__).resolve().parent / "resources" / "conditions.py"


def _count(log: Path) -> int:
    file = log / "reads_a_file"
    return len(file.read_text().splitlines()) if file.exists() else 0


@pytest.fixture
def env(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "log"
    log.mkdir()
    monkeypatch.setenv("EXEC_LOG", str(log))
    monkeypatch.setenv("LOOKUP_FILE", str(tmp_path / "lookup.csv"))
    (tmp_path / "lookup.csv").write_text("a,b\n1,2\n")
    return log


def test_a_changed_declared_file_reruns_the_step(env: Path, tmp_path: Path) -> None:
    run(f"{COND}:declared", executor="inline")
    again = run(f"{COND}:declared", executor="inline")
    assert again.step("reads_a_file").status == "CACHED"
    (tmp_path / "lookup.csv").write_text("a,b\n1,2\n3,4\n")
    third = run(f"{COND}:declared", executor="inline")
    assert third.step("reads_a_file").status == "SUCCEEDED"
    assert _count(env) == 2


def test_a_changed_declared_value_reruns_the_step(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run(f"{COND}:declared", executor="inline")
    monkeypatch.setenv("CHAMPION_VERSION", "2")
    info = run(f"{COND}:declared", executor="inline")
    assert info.step("reads_a_file").status == "SUCCEEDED"
    assert _count(env) == 2


def test_a_cache_input_that_raises_fails_the_step_with_its_name(home: Path) -> None:
    def broken() -> str:
        raise RuntimeError("registry unreachable")

    spec = step(cache_inputs=[broken])(lambda: 1).spec
    with pytest.raises(ValidationError, match="cache input 'broken' of step .* raised RuntimeError: registry"):
        spec.declared_inputs()


def test_a_single_path_instead_of_a_list_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"write cache_inputs=\['data.csv'\]"):
        step(cache_inputs="data.csv")(lambda: 1)
