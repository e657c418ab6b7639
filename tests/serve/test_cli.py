"""``loopml endpoint`` and ``loopml transform`` commands (thin wrappers; behaviour is tested in the library)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from loopml.cli.endpoint import app, transform

runner = CliRunner()


def test_list_json_and_unknown_endpoint(home: Path) -> None:
    result = runner.invoke(app, ["list", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == []
    missing = runner.invoke(app, ["describe", "nope"])
    assert missing.exit_code != 0 and "no endpoint named 'nope'" in str(missing.exception)


def test_create_refuses_unapproved_version(served) -> None:  # noqa: ANN001
    served(approve=False)
    result = runner.invoke(app, ["create", "ep", "--model", "churn:1"])
    assert result.exit_code != 0 and "PendingManualApproval" in str(result.exception)


@pytest.mark.timeout(900)  # a busy machine (CPU hogs at 2x the cores) stretches it several times
@pytest.mark.slow
def test_transform_command_writes_parts_and_reports_json(served, tmp_path: Path) -> None:  # noqa: ANN001
    served()
    pd.DataFrame({"a": [0.1, 0.2], "b": [1.0, 2.0], "c": [3.0, 4.0]}).to_csv(tmp_path / "in.csv", index=False)
    cli = typer.Typer()
    cli.command()(transform)
    result = runner.invoke(cli, ["--model", "churn@approved", "--input", str(tmp_path / "in.csv"),
                                 "--output", str(tmp_path / "out"), "--format", "csv", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 2
    assert len(pd.read_csv(tmp_path / "out" / "part-00000.csv")) == 2
