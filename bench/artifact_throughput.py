"""Artifact store throughput: 1,000 small and 10 large (100 MB) artifacts, put and get, against plain
file copies of the same bytes (the floor). Prints one JSON line.
Run: .venv/bin/python bench/artifact_throughput.py [--large-mb 100]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from loopml.core.artifacts import ArtifactStore


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=10)
    parser.add_argument("--large-mb", type=int, default=100)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="loopml-bench-"))
    src = root / "src"
    src.mkdir()
    small = [os.urandom(4096) for _ in range(args.small)]
    large_files = []
    for i in range(args.large):
        path = src / f"large{i}"
        with open(path, "wb") as fh:
            for _ in range(args.large_mb):
                fh.write(os.urandom(1 << 20))
        large_files.append(path)
    store = ArtifactStore(str(root / "cas"))
    out = {"bench": "artifact_throughput", "small_n": args.small, "large_n": args.large, "large_mb": args.large_mb}

    t0 = time.perf_counter()
    refs = [store.put_bytes(data) for data in small]
    out["small_put_per_s"] = round(args.small / (time.perf_counter() - t0))
    t0 = time.perf_counter()
    for ref in refs:
        store.get_bytes(ref)
    out["small_get_per_s"] = round(args.small / (time.perf_counter() - t0))
    copy_dir = root / "copy"
    copy_dir.mkdir()
    t0 = time.perf_counter()
    for i, data in enumerate(small):
        with open(copy_dir / f"s{i}", "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    out["small_plain_write_fsync_per_s"] = round(args.small / (time.perf_counter() - t0))

    total_mb = args.large * args.large_mb
    t0 = time.perf_counter()
    large_refs = [store.put_file(p) for p in large_files]
    out["large_put_mb_s"] = round(total_mb / (time.perf_counter() - t0))
    t0 = time.perf_counter()
    for i, ref in enumerate(large_refs):
        store.get_file(ref, root / "out" / f"l{i}")
    out["large_get_mb_s"] = round(total_mb / (time.perf_counter() - t0))
    t0 = time.perf_counter()
    for i, path in enumerate(large_files):
        shutil.copyfile(path, copy_dir / f"l{i}")
    out["large_plain_copy_mb_s"] = round(total_mb / (time.perf_counter() - t0))
    out["machine"] = f"{platform.machine()} {os.cpu_count()} cores"
    shutil.rmtree(root)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
