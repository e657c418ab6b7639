"""Serverless cold start: from a request to a scaled-to-zero endpoint until its first response.

    .venv/bin/python bench/serve_coldstart.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

COLUMNS = [f"f{i}" for i in range(20)]


def frame(rows: int, seed: int = 0) -> pd.DataFrame:
    return pd.DataFrame(np.random.default_rng(seed).normal(size=(rows, 20)), columns=COLUMNS)


def approved_model() -> tuple[Path, Any]:
    """Point LOOPML_HOME at a temp folder and register + approve a LogisticRegression; returns (home, model)."""
    from sklearn.linear_model import LogisticRegression

    home = Path(tempfile.mkdtemp(prefix="loopml-bench-"))
    os.environ["LOOPML_HOME"] = str(home)
    os.environ["LOOPML_USER"] = "alice"
    from loopml import registry
    from loopml.core import context, identity

    with context.get_db().write() as conn:
        identity.grant(conn, "root", "admin", actor="root")
        identity.grant(conn, "alice", "data-scientist", actor="root")
        identity.grant(conn, "bob", "approver", actor="root")
    data = frame(5000)
    model = LogisticRegression(max_iter=1000).fit(data, (data.to_numpy().sum(axis=1) > 0).astype(int))
    version = registry.register(model, "bench", signature={"inputs": [{"name": c, "type": "float64"} for c in COLUMNS]},
                                actor="alice")
    registry.approve("bench", version.version, actor="bob")
    return home, model


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    approved_model()
    from loopml import serve

    ep = serve.create("bench-sl", "bench@approved", mode="serverless", idle_seconds=1.0)
    body = json.dumps([dict.fromkeys(COLUMNS, 0.1)]).encode()
    client_s, replica_s = [], []
    try:
        for _ in range(args.runs):
            while serve.describe("bench-sl")["live"]["variants"][0]["replicas"]:
                time.sleep(0.2)
            t0 = time.perf_counter()
            assert httpx.post(ep.runtime["url"] + "/invocations", content=body, timeout=60).status_code == 200
            client_s.append(time.perf_counter() - t0)
            replica_s.append(serve.describe("bench-sl")["live"]["variants"][0]["cold_starts_s"][-1])
    finally:
        serve.delete("bench-sl")
    print(json.dumps({"bench": "serve_coldstart", "runs": args.runs, "load_avg_1m": round(os.getloadavg()[0], 2),
                      "cold_start_to_first_response_s_median": round(float(np.median(client_s)), 3),
                      "cold_start_to_first_response_s_all": [round(x, 3) for x in client_s],
                      "replica_start_to_ready_s_median": round(float(np.median(replica_s)), 3),
                      "target_s": 1.5}))


if __name__ == "__main__":
    main()
