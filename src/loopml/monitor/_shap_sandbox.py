"""SHAP attributions of an endpoint's model computed in a sandboxed subprocess.

The scheduler never deserialises a model itself (RELIABILITY §2.4): it fetches the model folder
(digest-verified) and the window's rows into a temporary folder, then runs
``python -m loopml.monitor._shap_sandbox FOLDER SAMPLE CLASS_INDEX`` with an environment stripped of
credentials and store URLs (:func:`loopml.models.sandbox_env`), which writes ``result.json``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from loopml.errors import BackendError


def window_attributions(model_ref: str, frame: pd.DataFrame, *, sample: int, class_index: int | None,
                        timeout: float = 300.0) -> dict[str, Any]:
    """``{"status", "reason", "global_importance"}`` of the model ``model_ref`` on ``frame``."""
    from loopml import registry
    from loopml.models import sandbox_env

    work = Path(tempfile.mkdtemp(prefix="loopml-shap-"))
    try:
        registry.fetch_model(registry.resolve(model_ref), work / "model")
        frame.to_parquet(work / "window.parquet")
        index = "auto" if class_index is None else str(class_index)
        done = subprocess.run(  # noqa: S603 - our own module, no shell
            [sys.executable, "-m", "loopml.monitor._shap_sandbox", str(work), str(sample), index],
            env=sandbox_env(), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if done.returncode != 0 or not (work / "result.json").exists():
            raise BackendError(f"the SHAP sandbox for {model_ref} failed (exit {done.returncode}): "
                               f"{done.stderr.strip()[-500:]}")
        result: dict[str, Any] = json.loads((work / "result.json").read_text())
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(folder: str, sample: str, class_index: str) -> None:
    """Load the model folder, explain the window, write ``result.json`` (runs in the sandbox)."""
    from loopml import models
    from loopml.evaluate.explain import explain

    models.limit_resources()  # before anything is deserialized
    work = Path(folder)
    loaded = models.load(work / "model")
    model = getattr(loaded, "model", loaded)  # the native estimator, so SHAP picks its fast explainer
    index = (1 if hasattr(model, "predict_proba") else None) if class_index == "auto" else int(class_index)
    found = explain(model, pd.read_parquet(work / "window.parquet"), sample=int(sample), class_index=index)
    body = {"status": found.status, "reason": found.reason, "global_importance": found.global_importance}
    (work / "result.json").write_text(json.dumps(body))


if __name__ == "__main__":
    main(*sys.argv[1:4])
