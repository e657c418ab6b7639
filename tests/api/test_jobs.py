"""Background jobs: fixed verbs only, JSON arguments, run as the caller, failures in the job's log."""

from __future__ import annotations

import os
import time

import pytest

from loopml.api import _jobs
from loopml.errors import ValidationError


def test_only_fixed_verbs_exist(home):
    for verb in ("sh", "python", "os.system", "../resume", "resume; touch /tmp/x"):
        with pytest.raises(ValidationError, match="unknown job"):
            _jobs.start(verb, {}, user="dana")


@pytest.mark.slow
def test_a_job_runs_in_its_own_process_and_logs_its_failure(home):
    job = _jobs.start("resume", {"execution_id": "pe_missing"}, user="dana")
    log = home / "logs" / job.log
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            os.kill(job.pid, 0)
            finished = os.waitpid(job.pid, os.WNOHANG)[0] == job.pid
        except (ProcessLookupError, ChildProcessError):
            finished = True
        if finished:
            break
        time.sleep(0.2)
    assert "resume failed" in log.read_text() and "pe_missing" in log.read_text()


def test_resume_of_an_unknown_execution_is_404_before_any_worker_starts(shared_world):
    response = shared_world.client.post("/api/v1/executions/pe_missing/resume", headers=shared_world.auth("dana"))
    assert response.status_code == 404
    assert not (shared_world.home / "logs").exists()
