"""A data-quality run over one hour of captured traffic: 100,000 requests (one row each, 8 numeric features,
``{"instances": [...]}`` JSON as clients send them) in SageMaker's capture layout, decoded by the model
server's decoder, checked against the signature and against a baseline. Prints one JSON line.

    .venv/bin/python bench/monitor_capture.py [--records N]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

FEATURES = [f"f{i}" for i in range(8)]
T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def _spool(folder: Path, records: int) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    values = rng.normal(size=(records, len(FEATURES))).round(5)
    path = folder / "AllTraffic" / T0.strftime("%Y%m%d%H") / "1.jsonl"
    path.parent.mkdir(parents=True)
    with path.open("w") as out:
        for i, row in enumerate(values.tolist()):
            at = (T0 + timedelta(seconds=3600 * i / records)).strftime("%Y-%m-%dT%H:%M:%SZ")
            body = json.dumps({"instances": [dict(zip(FEATURES, row, strict=True))]})
            out.write(json.dumps({"captureData": {
                "endpointInput": {"observedContentType": "application/json", "mode": "INPUT", "data": body,
                                  "encoding": "JSON"},
                "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                                   "data": '{"predictions": [0.5]}', "encoding": "JSON"}},
                "eventMetadata": {"eventId": f"e{i}", "inferenceTime": at}, "eventVersion": "0"}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="loopml-bench-capture-")
    os.environ["LOOPML_HOME"] = home
    os.environ["LOOPML_USER"] = "bench"
    import numpy as np
    import pandas as pd

    from loopml import monitor
    from loopml.monitor import _capture
    from loopml.serve import capture, parse_signature

    _spool(Path(home) / "spool", args.records)
    capture.upload_spool("ep", Path(home) / "spool", include_current=True)
    base = pd.DataFrame(np.random.default_rng(1).normal(size=(50_000, len(FEATURES))), columns=FEATURES)
    b = monitor.create_baseline(base)
    monitor.create_monitoring_schedule("dq", "ep", statistics=b.statistics_digest, constraints=b.constraints_digest,
                                       interval_seconds=3600, check_signature=False)
    records = capture.read_records("ep")
    started = time.perf_counter()
    window = _capture.decode_window(records, parse_signature({f: "double" for f in FEATURES}), check=True)
    decode_s = time.perf_counter() - started
    started = time.perf_counter()
    ex = monitor.run_monitor("dq", window_start=T0, window_end=T0 + timedelta(hours=1))
    run_s = time.perf_counter() - started
    assert ex.item_count == args.records and window.undecodable == 0, (ex.item_count, ex.message)
    print(json.dumps({"benchmark": "monitor_capture", "records": args.records, "decode_check_s": round(decode_s, 2),
                      "records_per_s": round(args.records / decode_s), "monitor_run_s": round(run_s, 2),
                      "cores": os.cpu_count()}))


if __name__ == "__main__":
    main()
