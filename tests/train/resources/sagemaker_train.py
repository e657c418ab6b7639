"""A training script written for SageMaker script mode (scikit-learn container), run here unchanged."""

import argparse
import json
import os

import joblib
import pandas as pd
from sklearn.linear_model import LogisticRegression

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--model-dir", type=str, default=os.environ["SM_MODEL_DIR"])
    parser.add_argument("--train", type=str, default=os.environ["SM_CHANNEL_TRAIN"])
    parser.add_argument("--output-data-dir", type=str, default=os.environ["SM_OUTPUT_DATA_DIR"])
    args, _ = parser.parse_known_args()

    hps = json.loads(os.environ["SM_HPS"])
    files = [os.path.join(args.train, f) for f in os.listdir(args.train)]
    df = pd.concat([pd.read_parquet(f) for f in files])
    X, y = df.drop(columns=["churned"]), df["churned"]
    model = LogisticRegression(C=args.C, max_iter=args.max_iter).fit(X, y)
    for epoch in range(3):
        print(f"epoch={epoch} train_accuracy={model.score(X, y):.4f}")
    with open(os.path.join(args.output_data_dir, "hps.json"), "w") as fh:
        json.dump(hps, fh)
    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
