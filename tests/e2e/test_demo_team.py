"""The core path of ``make demo-team``: PostgreSQL, S3 (moto) and Redis started by the team stack, work on
the session's Ray cluster, and the placement report naming the worker nodes.

The pipeline and the job run in this process (a driver already joined to the session's cluster) rather than
through two CLI processes, each of which would join the cluster as a new driver: the CLI's cluster path has
its own tests (tests/pipelines/test_ray.py)."""

from __future__ import annotations

import os

import pytest

from loopml.demo.team import placements, team_stack
from tests.conftest import _reset

pytestmark = pytest.mark.ray


def test_the_team_stack_runs_pipelines_and_jobs_on_ray_and_says_where(ray_cluster, tmp_path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from loopml import pipelines
    from loopml.train import jobs

    script = tmp_path / "train.py"
    script.write_text("import os\nopen(os.path.join(os.environ['SM_MODEL_DIR'], 'm.txt'), 'w').write('ok')\n")
    with team_stack(cluster=ray_cluster) as (env, cluster):
        assert env["LOOPML_DB"].startswith("postgresql+psycopg://") and env["LOOPML_ARTIFACTS"].startswith("s3://")
        assert env["LOOPML_ONLINE"].startswith("redis://127.0.0.1:")
        for key in [k for k in os.environ if k.startswith(("LOOPML_", "AWS_", "RAY_"))]:
            monkeypatch.delenv(key)
        for key, value in env.items():
            if key.startswith(("LOOPML_", "AWS_", "RAY_")):
                monkeypatch.setenv(key, value)
        _reset()
        try:
            info = pipelines.run("loopml.testing._pipelines:diamond")  # a cluster is set: the ray executor
            assert info.status == "SUCCEEDED", [s.error for s in info.steps if s.error]
            run = jobs.run(str(script), stream=False)
            assert run.status == "COMPLETED", run.error
            where = placements(env, cluster.node_names())
        finally:
            monkeypatch.undo()
            _reset()
    kinds = {kind for kind, _, _ in where}
    assert kinds == {"step", "job"}
    assert len([w for w in where if w[0] == "step"]) == 5
    assert {node for _, _, node in where} <= {"worker-1", "worker-2"}  # the head offers no CPU
