"""Monitor executions as Ray tasks on the session's real cluster: same result and record as in-process."""

from __future__ import annotations

import pytest

from loopml import monitor
from loopml.core.work import list_work
from loopml.monitor._ray import run_monitor_on_cluster
from tests.monitor.capture_helpers import records_for, store
from tests.monitor.conftest import make_frame
from tests.monitor.test_executions import HOUR, T0, _schedule

pytestmark = pytest.mark.ray


def test_a_monitor_execution_runs_on_a_node_and_is_recorded_once(ray_cluster_env, home, tmp_path) -> None:
    _schedule(home, make_frame(5000, 1))
    window = make_frame(800, 2)
    window["amount"] += 15.0
    store("ep", records_for(window, T0, spacing=2.0), tmp_path / "spool")
    ex = run_monitor_on_cluster("dq", window_start=T0, window_end=T0 + HOUR, execution_id="mex_on_ray")
    assert (ex.status, ex.result, ex.item_count) == ("CompletedWithViolations", "violations", 800)
    again = run_monitor_on_cluster("dq", window_start=T0, window_end=T0 + HOUR, execution_id="mex_on_ray")
    assert again.id == ex.id and [e.id for e in monitor.list_executions(schedule="dq")] == ["mex_on_ray"]
    ran = [w for w in list_work() if w.kind == "monitor"]
    assert len(ran) == 2 and all(w.ref == "mex_on_ray" and w.status == "DONE" for w in ran)
