"""A SageMaker scikit-learn script-mode entry point: trains under ``python train.py`` and serves through
model_fn / input_fn / predict_fn / output_fn, as SageMaker's scikit-learn container calls them."""

import argparse
import io
import json
import os

import joblib
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

FEATURES = ["tenure", "calls"]


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def input_fn(request_body, request_content_type):
    if request_content_type == "application/json":
        doc = json.loads(request_body)
        rows = doc["instances"] if isinstance(doc, dict) else doc
        return pd.DataFrame(rows, columns=FEATURES)
    if request_content_type == "text/csv":
        return pd.read_csv(io.StringIO(request_body), header=None, names=FEATURES)
    raise ValueError(f"unsupported content type {request_content_type}")


def predict_fn(input_data, model, context):
    """The caller may set the decision threshold: CustomAttributes "threshold=0.2" (read as TorchServe does)."""
    attributes = dict(kv.split("=", 1) for kv in (context.get_request_header(0, "X-Amzn-SageMaker-Custom-Attributes")
                                                  or "").split(";") if "=" in kv)
    scores = model.predict_proba(input_data)[:, 1]
    labels = model.predict(input_data) if "threshold" not in attributes else scores >= float(attributes["threshold"])
    return np.column_stack([labels, scores])


def output_fn(prediction, accept, context):
    if accept == "text/csv":
        return "\n".join(f"{int(label)},{p:.6f}" for label, p in prediction), "text/csv"
    doc = {"predictions": [{"label": int(label), "score": round(float(p), 6)} for label, p in prediction]}
    return json.dumps({**doc, "inference_id": context.inference_id} if context.inference_id else doc)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--model-dir", type=str, default=os.environ["SM_MODEL_DIR"])
    parser.add_argument("--train", type=str, default=os.environ["SM_CHANNEL_TRAIN"])
    args, _ = parser.parse_known_args()
    frame = pd.concat([pd.read_parquet(os.path.join(args.train, f)) for f in os.listdir(args.train)])
    model = LogisticRegression(C=args.C).fit(frame[FEATURES], frame["churned"])
    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
