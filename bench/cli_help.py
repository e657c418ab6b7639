"""Wall time of ``loopml --help`` (target: under 0.5 s). Prints one JSON line with the best of 5."""

from __future__ import annotations

import json
import subprocess
import sys
import time


def main() -> None:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "loopml.cli.main", "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    print(json.dumps({"bench": "cli_help", "best_s": round(min(times), 3), "median_s": round(sorted(times)[2], 3)}))


if __name__ == "__main__":
    main()
