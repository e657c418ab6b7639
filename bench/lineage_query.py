"""Lineage of one model version with 10,000 versions in the registry: the in-process query and the whole
``loopml lineage model GROUP:VERSION --json`` command (target: under 1 s). Prints one JSON line.

The 10,000 versions are registered for real (model saved, stored, version numbered, audited) for the first
200; the rest are bulk-inserted rows pointing at the same artifact, to keep the setup short.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N_VERSIONS = 10_000
REAL = 200


def main() -> None:
    os.environ["LOOPML_HOME"] = tempfile.mkdtemp(prefix="loopml-bench-")
    os.environ["LOOPML_USER"] = "alice"
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from loopml import registry
    from loopml.core import clock, context
    from loopml.registry._tables import model_transitions, model_versions

    frame = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 7})
    model = LogisticRegression().fit(frame, (frame["a"] > 20).astype(int))
    t0 = time.perf_counter()
    for _ in range(REAL):
        last = registry.register(model, "churn", metrics={"auc": 0.8})
    register_s = time.perf_counter() - t0
    rows, trans = [], []
    now = clock.now()
    for number in range(REAL + 1, N_VERSIONS + 1):
        rows.append({"group_name": "churn", "version": number, "digest": last.digest, "flavor": last.flavor,
                     "signature": last.signature, "status": "PendingManualApproval", "description": "",
                     "tags": {}, "metrics": {"auc": 0.8}, "lineage": {}, "card": {}, "created_by": "alice",
                     "created_at": now})
        trans.append({"group_name": "churn", "version": number, "from_status": None,
                      "to_status": "PendingManualApproval", "actor": "alice", "at": now, "note": "registered"})
    with context.get_db().write() as conn:
        conn.execute(model_versions.insert(), rows)
        conn.execute(model_transitions.insert(), trans)
    target = REAL // 2
    t0 = time.perf_counter()
    facts = registry.lineage("churn", target)
    query_ms = (time.perf_counter() - t0) * 1000
    assert facts["model"]["version"] == target
    cmd = [sys.executable, "-m", "loopml.cli.main", "lineage", "model", f"churn:{target}", "--json"]
    walls = []
    for _ in range(3):
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, env=os.environ, cwd=Path.cwd())
        walls.append(time.perf_counter() - t0)
        assert out.returncode == 0, out.stderr
    print(json.dumps({
        "bench": "lineage_query", "versions": N_VERSIONS, "lineage_query_ms": round(query_ms, 2),
        "cli_wall_s_best": round(min(walls), 3), "cli_wall_s_median": round(sorted(walls)[1], 3),
        "register_ms_each": round(register_s * 1000 / REAL, 2),
    }))


if __name__ == "__main__":
    main()
