"""Job start overhead: wall time of a training job whose script does nothing vs running the script directly.

    .venv/bin/python bench/train_overhead.py [--repeat 10]

Prints one JSON line (medians, seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    os.environ["LOOPML_HOME"] = str(folder / "home")
    script = folder / "noop.py"
    script.write_text("pass\n")
    from loopml.train import jobs

    jobs.run(script, stream=False)  # warm: migrations, imports
    direct, job = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, str(script)], check=True)
        direct.append(time.perf_counter() - start)
        start = time.perf_counter()
        run = jobs.run(script, stream=False)
        job.append(time.perf_counter() - start)
        assert run.status == "COMPLETED", run.error
    print(json.dumps({"bench": "train_overhead", "repeat": args.repeat,
                      "direct_s": round(statistics.median(direct), 4), "job_s": round(statistics.median(job), 4),
                      "overhead_s": round(statistics.median(job) - statistics.median(direct), 4)}))


if __name__ == "__main__":
    main()
