"""Every traceback reported in issue 12 ("The CLI never shows a traceback") is now one line that says what to
do, with exit code 2 — each run through the real entry point's error handling, with a real approved model."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.corpus import Outcome, invoke


@pytest.fixture
def approved(home: Path) -> Path:
    """An approved model ``churn:1`` on columns a, b, c, and a good input file; returns the working folder."""
    from loopml import registry
    from loopml.core import context, identity
    from tests.serve.conftest import SIGNATURE, fitted

    with context.get_db().write() as conn:
        identity.grant(conn, "root", "admin", actor="root")
        identity.grant(conn, "alice", "data-scientist", actor="root")
        identity.grant(conn, "bob", "approver", actor="root")
    version = registry.register(fitted(0)[0], "churn", signature=SIGNATURE, actor="alice")
    registry.approve("churn", version.version, note="ok", actor="bob")
    folder = home.parent
    (folder / "good.csv").write_text("a,b,c\n0.1,0.2,0.3\n1,2,3\n")
    return folder


def _one_line(outcome: Outcome, *needles: str) -> None:
    assert outcome.code == 2, (outcome.code, outcome.err)
    lines = outcome.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), outcome.err
    assert "Traceback" not in outcome.err + outcome.out
    for needle in needles:
        assert needle in lines[0], lines[0]


def _transform(folder: Path, source: str, *extra: str, output: str | None = None) -> Outcome:
    return invoke(["transform", "--model", "churn@approved", "--input", source,
                   "--output", output or str(folder / "out"), *extra])


def test_transform_with_wrong_columns(approved: Path) -> None:
    (approved / "wrong.csv").write_text("x,y\n1,2\n")
    _one_line(_transform(approved, str(approved / "wrong.csv")), "the input has no column(s) ['a', 'b', 'c']")
    assert not list((approved / "out" / "_work").glob("input*.parquet"))  # nothing half-prepared to resume from


def test_transform_with_a_ragged_csv(approved: Path) -> None:
    (approved / "ragged.csv").write_text("a,b,c\n1,2,3\n4,5\n6,7,8,9\n")
    _one_line(_transform(approved, str(approved / "ragged.csv")), "cannot read input", "same number of fields")


def test_transform_with_a_binary_input(approved: Path) -> None:
    (approved / "binary.csv").write_bytes(bytes(range(256)) * 4)
    _one_line(_transform(approved, str(approved / "binary.csv")), "cannot read input")


def test_transform_with_an_output_path_that_is_a_file(approved: Path) -> None:
    (approved / "taken").write_text("a file\n")
    _one_line(_transform(approved, str(approved / "good.csv"), output=str(approved / "taken")), "is a file")


@pytest.mark.parametrize(("option", "name"), [("--shard-rows", "shard_rows"), ("--workers", "workers")])
def test_transform_refuses_zero_shard_rows_and_zero_workers(approved: Path, option: str, name: str) -> None:
    _one_line(_transform(approved, str(approved / "good.csv"), option, "0"), f"{name} must be between 1")
    assert not (approved / "out").exists()  # refused before anything was created


def test_transform_still_predicts_a_good_file(approved: Path) -> None:
    outcome = _transform(approved, str(approved / "good.csv"), "--json")
    assert outcome.code == 0, outcome.err
    assert '"rows": 2' in outcome.out


@pytest.mark.parametrize("command", [["endpoint", "invoke", "ep", "--body", "@{missing}"],
                                     ["endpoint", "ground-truth", "ep", "{missing}"],
                                     ["endpoint", "invoke", "ep", "--body", "@{folder}"],
                                     ["endpoint", "ground-truth", "ep", "{folder}"]])
def test_endpoint_invoke_and_ground_truth_name_the_missing_file(approved: Path, command: list[str]) -> None:
    argv = [a.format(missing=approved / "nope.json", folder=approved) for a in command]
    if "nope" in " ".join(argv):
        expected = "does not exist"
    else:  # ground truth may be a folder (yyyy/mm/dd/hh/*.jsonl): this one's CSV files are not labels
        expected = "is a folder" if command[1] == "invoke" else "is not ground truth"
    _one_line(invoke(argv), expected)


@pytest.mark.parametrize("ref", [f"churn:{'9' * 25}", "churn:0", f"churn:{2**63}"])
def test_model_approve_with_a_huge_version_number(approved: Path, ref: str) -> None:
    _one_line(invoke(["model", "approve", ref]), "version in")


@pytest.mark.parametrize("days", ["nan", "inf", "-inf", "1e999", "1e300", "0", "-3"])
def test_tokens_create_with_nan_or_huge_expiry(approved: Path, days: str) -> None:
    _one_line(invoke(["tokens", "create", "--user", "alice", "--expires-days", days]), "expires_days must be")


def test_monitor_baseline_on_a_binary_file(approved: Path) -> None:
    (approved / "blob.csv").write_bytes(bytes(range(256)) * 4)
    _one_line(invoke(["monitor", "baseline", str(approved / "blob.csv"), "--out", str(approved / "bl")]),
              "could not read")


@pytest.mark.parametrize("threshold", ["nan", "inf", "-inf", "1e999"])
def test_alarms_put_with_a_bad_threshold(approved: Path, threshold: str) -> None:
    _one_line(invoke(["alarms", "put", "hot", "--source", "endpoint:ep", "--metric", "error_rate",
                      "--threshold", threshold]), "threshold must be a finite number")
    assert invoke(["alarms", "list", "--json"]).out.strip() == "[]"  # nothing was stored
