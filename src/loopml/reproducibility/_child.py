"""The re-run itself, in its own process with ``LOOPML_HOME`` set to a fresh home and the working folder as cwd.

``python -m loopml.reproducibility._child PLAN.json RESULT.json``: reads the plan the parent staged (inputs copied out
of the original store, the original model folder beside them), runs the pipeline or the training job again
exactly as recorded, and writes what came out: digests, every step's output, the environment it ran in, and —
when the model differs — whether the two models' metrics agree within the paired-bootstrap interval.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _training(plan: dict[str, Any]) -> dict[str, Any]:
    from loopml import train

    spec = plan["run"]["spec"]
    source_dir = plan.get("source_dir")
    found = train.run(plan.get("script"), algorithm=spec.get("algorithm"), channels=plan["staged_channels"],
                      hyperparameters=spec.get("hyperparameters"), seed=spec.get("seed"),
                      environment=spec.get("environment"), source_dir=source_dir,
                      metric_definitions=spec.get("metric_definitions"), experiment="reproduce", stream=False)
    result = {"run_id": found.id, "status": found.status, "error": found.error, "digest": found.model_digest,
              "environment": found.environment, "metrics": found.metrics, "code": found.code}
    if found.model_digest:
        result["model_folder"] = str(train.fetch_model(found.id, Path("reproduced-model")))
    return result


def _pipeline(plan: dict[str, Any]) -> dict[str, Any]:
    from loopml import pipelines, registry, train
    from loopml.reproducibility.plan import ids_in

    execution = plan["execution"]
    info = pipelines.run(execution["ref"], params=execution["params"], cache=False)
    steps = []
    for s in info.steps:
        value = None
        if s.output_digest and s.output_media_type == "application/json":
            value = pipelines.output(info.id, s.step)
        steps.append({"step": s.step, "status": s.status, "code_hash": s.code_hash, "output": s.output_digest,
                      "media_type": s.output_media_type, "value": value, "error": s.error})
    runs = {rid: train.get_run(rid).model_digest for s in steps for rid in ids_in(s["value"], "run")}
    mine = [v for v in registry.list_versions(plan["group"], limit=1000)
            if (registry.lineage(v.group, v.version).get("execution") or {}).get("id") == info.id]
    result: dict[str, Any] = {"execution_id": info.id, "status": info.status, "error": info.error, "steps": steps,
                              "runs": runs, "environment": info.code.get("environment") or {}, "digest": None}
    if mine:
        result["digest"] = mine[0].digest
        result["model_folder"] = str(registry.fetch_model(mine[0], Path("reproduced-model")))
    return result


def agreement(plan: dict[str, Any], folder: str) -> dict[str, Any]:
    """Do the original and the re-made model agree within the 95 % paired-bootstrap interval on the recorded
    training data? ``{"agree": bool | None, "reason", "deltas": [...]}``."""
    import pandas as pd

    from loopml import models
    from loopml.evaluate import evaluate

    data, label = plan.get("eval_data"), plan.get("label")
    if not data or not label:
        return {"agree": None, "reason": "no labelled data recorded for the training run (no 'target' "
                "hyperparameter), so the metrics were not compared"}
    frame = pd.read_parquet(data)
    report = evaluate(models.load(folder), frame, label=label, incumbent=models.load(plan["original_model"]),
                      shap_sample=0, bootstrap=200, seed=0)
    deltas: list[dict[str, Any]] = [{"metric": d.metric, "delta": d.delta, "ci_low": d.ci_low, "ci_high": d.ci_high}
              for d in (report.comparison.deltas if report.comparison else []) if d.ci_low is not None]
    agree = all(d["ci_low"] <= 0 <= d["ci_high"] for d in deltas) if deltas else None
    return {"agree": agree, "rows": len(frame), "deltas": deltas,
            "reason": "every metric's paired-bootstrap 95 % interval of the difference holds 0" if agree
            else "some metric's 95 % interval of the difference excludes 0" if agree is False
            else "no metric with a bootstrap interval"}


def main(argv: list[str]) -> int:
    plan = json.loads(Path(argv[0]).read_text())
    try:
        result = _pipeline(plan) if plan["kind"] == "pipeline" else _training(plan)
        if result.get("digest") and result["digest"] != plan["digest"] and result.get("model_folder"):
            try:
                result["metrics_agreement"] = agreement(plan, result["model_folder"])
            except Exception as exc:  # noqa: BLE001 - the comparison is advice; its failure is reported
                result["metrics_agreement"] = {"agree": None, "reason": f"the metrics could not be compared: {exc}"}
    except Exception as exc:  # noqa: BLE001 - the parent reports whatever stopped the re-run
        result = {"status": "FAILED", "error": f"{type(exc).__name__}: {exc}", "digest": None}
    Path(argv[1]).write_text(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
