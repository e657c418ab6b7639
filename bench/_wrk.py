"""Driving Debian's ``wrk`` (``apt-get install -y wrk``) and reading its latency distribution."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def wrk_path() -> str:
    """The wrk binary, or a clear error saying how to install it."""
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed; install it with: apt-get install -y wrk")
    return found


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip()).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse(output: str) -> dict[str, float]:
    """p50/p99 in ms, requests/s and failed requests from ``wrk --latency`` output."""
    out: dict[str, float] = {}
    for pct in ("50", "99"):
        match = re.search(rf"^\s+{pct}%\s+(\S+)$", output, re.M)
        if match:
            out[f"p{pct}_ms"] = round(_ms(match.group(1)), 3)
    out["requests_per_s"] = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    out["failed"] = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, errors.groups())) if errors else 0)
    out["requests"] = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    return out


def run(url: str, body: bytes, *, connections: int, seconds: float, content_type: str = "application/json"
        ) -> dict[str, float]:
    """POST ``body`` to ``url`` over ``connections`` kept-alive connections for ``seconds``."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        lua_body = body.decode().replace("\\", "\\\\").replace("'", "\\'")
        script.write_text(f"wrk.method = 'POST'\nwrk.body = '{lua_body}'\n"
                          f"wrk.headers['Content-Type'] = '{content_type}'\n")
        threads = min(connections, 2)
        proc = subprocess.run([wrk_path(), "--latency", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
                               "-s", str(script), url], capture_output=True, text=True, timeout=seconds + 60,
                              check=True)
    return parse(proc.stdout)
