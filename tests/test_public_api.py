"""The curated top-level API: every name in __all__ resolves, and nothing else is exported."""

from __future__ import annotations

import subprocess
import sys

import loopml


def test_every_exported_name_resolves() -> None:
    for name in loopml.__all__:
        assert getattr(loopml, name) is not None


def test_import_loopml_stays_cheap() -> None:
    code = "import sys, loopml; print(sorted(m for m in ('pandas', 'sqlalchemy', 'sklearn') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys\nfrom loopml.cli.main import app\n"
        "print(sorted(m for m in ('pandas', 'sqlalchemy', 'sklearn', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
