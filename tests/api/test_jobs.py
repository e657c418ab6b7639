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


def test_only_pipelines_the_platform_knows_can_be_started_by_name(home) -> None:
    """Case 37: no client-supplied code location; an unknown name is 404 and nothing runs."""
    from fastapi.testclient import TestClient

    from loopml.api import create_app
    from loopml.core import context, identity, tokens
    from loopml.pipelines import known_pipelines, list_executions, pipeline_ref, run

    with context.get_db().write() as conn:
        identity.grant(conn, "root", "admin", actor="root")
        identity.grant(conn, "dana", "data-scientist", actor="root")
        secret, _ = tokens.create(conn, "dana", actor="root")
    run("tests.pipelines.resources.basic:chain", executor="inline")
    assert [p["name"] for p in known_pipelines()] == ["chain"]
    assert pipeline_ref("chain") == "tests.pipelines.resources.basic:chain"
    client = TestClient(create_app(), base_url="http://127.0.0.1")
    auth = {"authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/pipelines", headers=auth).json()["items"][0]["name"] == "chain"
    for name in ("evil", "os:system"):
        refused = client.post(f"/api/v1/pipelines/{name}/runs", json={"params": {}}, headers=auth)
        assert refused.status_code in (400, 404, 422), refused.text
    body = {"params": {}, "target": "/tmp/evil.py:p"}
    assert client.post("/api/v1/pipelines/chain/runs", json=body, headers=auth).status_code == 422
    assert len(list_executions()) == 1
