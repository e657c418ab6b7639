"""What a prediction request asks back: predictions, or class probabilities too.

SageMaker clients ask with the custom attribute ``probabilities=true`` (``X-Amzn-SageMaker-Custom-Attributes``,
attributes separated by ``;`` or ``,``) or an ``Accept`` parameter (``application/json; probabilities=true``);
Open Inference Protocol clients name the output (``"outputs": [{"name": "probabilities"}]``). The OIP model
metadata lists exactly the outputs infer returns, with the datatypes infer uses.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from loopml.serve._decode import to_jsonable, v2_datatype
from loopml.serve._model import ServedModel
from loopml.serve.errors import MalformedRequest

PREDICTIONS, PROBABILITIES = "predictions", "probabilities"


def _flag(text: str | None) -> bool:
    for part in (text or "").replace(",", ";").split(";"):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == PROBABILITIES and value.strip().lower() in ("true", "1", "yes"):
            return True
    return False


def wants_probabilities(custom_attributes: str | None, accept: str | None) -> bool:
    """Whether a SageMaker-style request asked for class probabilities."""
    return _flag(custom_attributes) or _flag((accept or "").partition(";")[2])


def probabilities(model: ServedModel, frame: Any) -> np.ndarray:
    """Class probabilities (rows × classes); a model without ``predict_proba`` is a 400 that says so."""
    proba = model.extra.get("predict_proba")
    if proba is None:
        raise MalformedRequest(f"model {model.name!r} gives no class probabilities (it has no predict_proba: a "
                               "regressor, or a flavor without them); ask for predictions only")
    return np.asarray(proba(frame))


def requested(doc: Any) -> list[str]:
    """The output names an OIP request asks for (all of its ``outputs``), default ``["predictions"]``."""
    outputs = doc.get("outputs") if isinstance(doc, dict) else None
    if not outputs:
        return [PREDICTIONS]
    if not isinstance(outputs, list) or not all(isinstance(o, dict) and isinstance(o.get("name"), str)
                                                for o in outputs):
        raise MalformedRequest('"outputs" must be a list of {"name": ...}', pointer="/outputs")
    names = [o["name"] for o in outputs]
    unknown = [n for n in names if n not in (PREDICTIONS, PROBABILITIES)]
    if unknown:
        raise MalformedRequest(f"output(s) {unknown} are not served; the outputs are {PREDICTIONS!r} and "
                               f"{PROBABILITIES!r} (classifiers)", pointer="/outputs")
    return names


def v2_tensor(name: str, values: np.ndarray) -> dict[str, Any]:
    flat = to_jsonable(values.reshape(-1))
    return {"name": name, "shape": list(values.shape), "datatype": v2_datatype(values), "data": flat}


def metadata_outputs(model: ServedModel) -> list[dict[str, Any]]:
    """The OIP metadata of the outputs, with the datatypes infer returns (seen at warm-up or at the last call)."""
    outputs = [{"name": PREDICTIONS, "datatype": model.extra.get("datatype", "FP64"), "shape": [-1]}]
    if model.extra.get("predict_proba") is not None:
        classes = model.extra.get("classes")
        outputs.append({"name": PROBABILITIES, "datatype": "FP64", "shape": [-1, len(classes) if classes else -1]})
    return outputs
