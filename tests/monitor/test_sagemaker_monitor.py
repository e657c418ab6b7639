"""`loopml monitor` as a drop-in for Model Monitor over what a SageMaker endpoint wrote to S3: capture in
`<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/`, a Model Monitor baseline with Deequ KLL sketches,
ground truth in `yyyy/mm/dd/hh/` merged by inferenceId or eventId, and reports in Model Monitor's files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from loopml.cli import monitor as cli
from tests.monitor.sagemaker_s3 import N, populate

app = typer.Typer()
app.add_typer(cli.app, name="monitor")
runner = CliRunner()


def _cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout  # stderr carries log lines (a violation is a WARNING)


@pytest.fixture
def sagemaker_s3(home, tmp_path, s3_bucket):
    """S3 as a SageMaker endpoint 'sm-churn' and its labelling job left it, plus its Model Monitor baseline."""
    return populate(s3_bucket[5:].split("/")[0], "sm-churn", tmp_path / "baseline")


def test_data_quality_over_a_sagemaker_capture_folder_on_s3(sagemaker_s3, tmp_path):
    code, out = _cli("monitor", "baseline-store", str(sagemaker_s3["baseline"]), "--json")
    digests = json.loads(out)
    code, out = _cli("monitor", "schedule", "sm-dq", "--endpoint", "sm-churn", "--every", "3600",
                     "--statistics", digests["statistics"], "--constraints", digests["constraints"],
                     "--capture-uri", sagemaker_s3["capture"])
    assert code == 0, out
    code, out = _cli("monitor", "run", "sm-dq", "--start", "2022-02-14T17:00:00Z", "--end", "2022-02-14T18:00:00Z",
                     "--out", str(tmp_path / "report"))
    assert code == 1, out  # violations: amount drifted by two standard deviations
    assert "items=299" in out and "undecodable=1" in out
    statistics = json.loads((tmp_path / "report" / "statistics.json").read_text())
    assert statistics["dataset"] == {"item_count": N - 1}
    amount = next(f for f in statistics["features"] if f["name"] == "amount")["numerical_statistics"]
    assert amount["common"]["num_present"] == N - 1
    assert amount["distribution"]["kll"]["sketch"]["parameters"] == {"c": 0.64, "k": 2048.0}
    constraints = json.loads((tmp_path / "report" / "constraints.json").read_text())
    assert constraints == json.loads((sagemaker_s3["baseline"] / "constraints.json").read_text())
    violations = json.loads((tmp_path / "report" / "constraint_violations.json").read_text())["violations"]
    assert [(v["feature_name"], v["constraint_check_type"]) for v in violations] == [("amount", "baseline_drift_check")]
    assert set(violations[0]) == {"feature_name", "constraint_check_type", "description"}


def test_model_quality_merges_s3_ground_truth_by_inference_or_event_id(sagemaker_s3, tmp_path):
    from sklearn.metrics import roc_auc_score

    code, out = _cli("monitor", "schedule", "sm-mq", "--endpoint", "sm-churn", "--type", "model_quality",
                     "--every", "3600", "--capture-uri", sagemaker_s3["capture"],
                     "--ground-truth-uri", sagemaker_s3["labels"],
                     "--settings", json.dumps({"probability_threshold": 0.5, "columns": ["amount", "items", "plan"]}),
                     "--thresholds", json.dumps({"accuracy": {"threshold": 0.95, "comparison_operator":
                                                              "LessThanThreshold"}}))
    assert code == 0, out
    code, out = _cli("monitor", "run", "sm-mq", "--start", "2022-02-14T17:00:00Z", "--end", "2022-02-14T18:00:00Z",
                     "--out", str(tmp_path / "mq"), "--json")
    ex = json.loads(out)
    keep = np.arange(N) != 5  # the undecodable record
    truth, probability = sagemaker_s3["truth"][keep], sagemaker_s3["probability"][keep]
    assert ex["metrics"]["matched_count"] == N - 1 and ex["metrics"]["undecodable_records"] == 1
    assert ex["metrics"]["accuracy"] == pytest.approx(np.mean((probability >= 0.5) == truth))
    assert ex["metrics"]["auc"] == pytest.approx(roc_auc_score(truth, probability))
    body = json.loads((tmp_path / "mq" / "statistics.json").read_text())["binary_classification_metrics"]
    assert sum(sum(row.values()) for row in body["confusion_matrix"].values()) == N - 1
    assert body["accuracy"] == {"value": pytest.approx(ex["metrics"]["accuracy"])}
    constraints = json.loads((tmp_path / "mq" / "constraints.json").read_text())
    assert constraints["binary_classification_constraints"]["accuracy"] == {
        "threshold": 0.95, "comparison_operator": "LessThanThreshold"}
    (violation,) = json.loads((tmp_path / "mq" / "constraint_violations.json").read_text())["violations"]
    assert violation["metric_name"] == "accuracy" and violation["constraint_check_type"] == "LessThanThreshold"
    assert code == 1


def test_a_capture_location_must_be_a_folder_or_url(home):
    from loopml import monitor
    from loopml.errors import ValidationError

    with pytest.raises(ValidationError, match="capture_uri is empty"):
        monitor.create_monitoring_schedule("x", "sm", monitor_type="model_quality", interval_seconds=60,
                                           capture_uri="  ")
    with pytest.raises(ValidationError, match="endpoint name"):
        monitor.create_monitoring_schedule("x", "a/b", monitor_type="model_quality", interval_seconds=60,
                                           capture_uri=str(Path.cwd()))
