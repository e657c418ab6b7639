"""docs/reliability.md maps each case of the test plan to its tests: every file and test it names exists, and
every case 41-48 and 50 has a row."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reliability.md"


def _named() -> list[tuple[str, str | None]]:
    """(file, test or None) for each `tests/…` and `::test_…` the doc names; `::x` belongs to the file before it."""
    out: list[tuple[str, str | None]] = []
    current = ""
    for match in re.finditer(r"`(tests/[\w/]+\.py)?(?:::(\w+))?`", DOC.read_text()):
        file, test = match.groups()
        current = file or current
        if file or test:
            out.append((current, test))
    return out


def test_every_test_the_doc_names_exists():
    named = _named()
    assert len(named) > 30
    missing = []
    for file, test in named:
        path = ROOT / file
        if not path.is_file() or (test and not re.search(rf"^(async )?def {test}\(", path.read_text(), re.M)):
            missing.append(f"{file}::{test}" if test else file)
    assert not missing, f"docs/reliability.md names tests that do not exist: {missing}"


def test_every_case_found_from_outside_has_a_row():
    rows = {int(m) for m in re.findall(r"^\| (\d+) ", DOC.read_text(), re.M)}
    assert rows >= {41, 42, 43, 44, 45, 46, 47, 48, 50}, rows
