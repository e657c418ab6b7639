"""Argument checks shared by every stage: numbers, pages, text, and files or folders a user names."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopml.core import checks, userfiles
from loopml.errors import NotFoundError, ValidationError


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), "abc", None, "1e999"])
def test_number_refuses_what_is_not_a_finite_number(value: object) -> None:
    with pytest.raises(ValidationError, match="threshold must be a finite number"):
        checks.number(value, "threshold")


def test_number_and_integer_bounds_name_the_range() -> None:
    assert checks.number("2.5", "x", above=0, high=3) == 2.5
    with pytest.raises(ValidationError, match="x must be more than 0, not 0"):
        checks.number(0, "x", above=0)
    with pytest.raises(ValidationError, match=r"workers must be between 1 and 64, not 0"):
        checks.integer(0, "workers", low=1, high=64)
    with pytest.raises(ValidationError, match="whole number"):
        checks.integer(1.5, "workers")
    with pytest.raises(ValidationError, match=f"between 1 and {2**63 - 1}"):
        checks.version(10**30)


def test_page_and_text() -> None:
    assert checks.page(50, 0) == (50, 0)
    with pytest.raises(ValidationError, match="limit"):
        checks.page(0)
    with pytest.raises(ValidationError, match="offset"):
        checks.page(10, -1)
    with pytest.raises(ValidationError, match="not valid UTF-8"):
        checks.text("caf\udce9", "name")
    with pytest.raises(ValidationError, match="JSON object"):
        checks.mapping([1, 2], "thresholds")


def test_user_files(tmp_path: Path) -> None:
    (tmp_path / "bin").write_bytes(b"\x00\xff\xfe")
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotFoundError, match="does not exist"):
        userfiles.read_bytes(tmp_path / "nope")
    with pytest.raises(ValidationError, match="is a folder"):
        userfiles.read_bytes(tmp_path)
    with pytest.raises(ValidationError, match="is not UTF-8 text"):
        userfiles.read_text(tmp_path / "bin")
    with pytest.raises(ValidationError, match="is a folder"):
        userfiles.write_text(tmp_path, "x")
    with pytest.raises(ValidationError, match="is a file, not a folder"):
        userfiles.write_text(tmp_path / "file" / "below.txt", "x")
    with pytest.raises(ValidationError, match="is a file"):
        userfiles.output_folder(tmp_path / "file")
    userfiles.write_text(tmp_path / "out.txt", "hello")
    assert (tmp_path / "out.txt").read_text() == "hello"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left behind


def test_the_database_edge_refuses_what_it_cannot_store(home: Path) -> None:
    from loopml import registry
    from loopml.data import get_dataset

    with pytest.raises(ValidationError, match="not valid UTF-8"):
        get_dataset("caf\udce9")
    with pytest.raises(ValidationError, match="version of dataset"):
        get_dataset("ds", 10**30)
    with pytest.raises(ValidationError, match="version in 'churn:"):
        registry.resolve(f"churn:{10**30}")


def test_declared_constraints_speak_scikit_learns_form() -> None:
    @checks.validate_params({"n": [checks.Interval(int, 1, None)], "kind": [checks.Options("a", "b")],
                             "rate": [checks.Interval(float, 0, 1, closed="neither"), checks.NONE]})
    def tune(n: int, *, kind: str = "a", rate: float | None = None) -> int:
        return n

    assert tune(3, rate=0.5) == 3 and tune(4.0) == 4.0  # a whole float counts as an int
    cases = [({"n": 0}, "The 'n' parameter of tune must be an int in the range [1, inf). Got 0 instead."),
             ({"n": True}, "The 'n' parameter of tune must be an int in the range [1, inf). Got True instead."),
             ({"n": 1, "kind": "c"}, "The 'kind' parameter of tune must be a str among {'a', 'b'}. Got 'c' instead."),
             ({"n": 1, "rate": 1}, "The 'rate' parameter of tune must be a float in the range (0, 1) or None. "
                                   "Got 1 instead."),
             ({"n": 1, "rate": float("inf")}, "must be a float in the range (0, 1) or None. Got inf instead.")]
    for kwargs, message in cases:
        with pytest.raises(ValidationError) as caught:
            tune(**kwargs)
        assert message in str(caught.value)
    with pytest.raises(TypeError, match="declares constraints for parameters it lacks: \\['m'\\]"):
        checks.validate_params({"m": [checks.NONE]})(tune)
