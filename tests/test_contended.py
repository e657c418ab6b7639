"""RELIABILITY case 48: ``make test-contended`` runs the suite beside CPU hogs at 2x the cores. This checks the
harness it stands on: the hogs are there while the command runs, the command's exit status is passed on, and no
hog outlives it (a hog left behind would slow every later test on the machine)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HOGS = Path(__file__).resolve().parents[1] / ".ci" / "with-cpu-hogs"

# Prints the pids of the wrapper's other children (the hogs) with their state, then exits 3.
_CHILD = """
import os
parent = os.getppid()
hogs = []
for pid in filter(str.isdigit, os.listdir('/proc')):
    try:
        fields = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
    except OSError:
        continue
    if int(fields[1]) == parent and int(pid) != os.getpid():
        hogs.append(pid)
print(' '.join(hogs))
raise SystemExit(3)
"""


def _alive(pid: str) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_hogs_run_beside_the_command_and_none_outlives_it():
    result = subprocess.run([sys.executable, str(HOGS), "--per-core", "1", "--", sys.executable, "-c", _CHILD],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 3, result.stderr  # the command's own status
    hogs = result.stdout.split()
    assert len(hogs) == os.cpu_count(), (hogs, result.stderr)
    assert f"{len(hogs)} hogs on {os.cpu_count()} cores" in result.stderr
    assert not [pid for pid in hogs if _alive(pid)], "a CPU hog outlived the command"


def test_a_missing_command_is_a_usage_error():
    result = subprocess.run([sys.executable, str(HOGS), "--per-core", "1"], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 2 and "give a command after --" in result.stderr
