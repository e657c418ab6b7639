"""A monitor execution as a Ray task, so a large window is not limited by the scheduler's machine.

The task opens the same stores as the scheduler, reads the window's capture from the artifact store and
records the execution in the metadata DB under an id chosen before submission; Ray re-runs the task if
its node is lost, and :func:`~loopml.monitor.executions.run_monitor` records one execution per id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loopml.core import cluster, ids
from loopml.monitor.executions import MonitoringExecution, run_monitor

NODE_LOSS_RETRIES = 3


def run_on_node(schedule: str, window_start: datetime | None, window_end: datetime | None, execution_id: str,
                env: dict[str, str]) -> MonitoringExecution:
    """The Ray task body: take on the driver's settings and run the check on this node."""
    from loopml.core import work

    cluster.apply_environment(env)
    with work.running("monitor", execution_id, node=cluster.current_node()):
        return run_monitor(schedule, window_start=window_start, window_end=window_end, execution_id=execution_id)


def run_monitor_on_cluster(schedule: str, *, window_start: datetime | None = None,
                           window_end: datetime | None = None, execution_id: str | None = None,
                           resources: dict[str, Any] | None = None) -> MonitoringExecution:
    """Run a monitoring schedule's check over one window on a cluster node and wait for its record.

    Args:
        schedule: The monitoring schedule's name.
        window_start, window_end: As for :func:`~loopml.monitor.executions.run_monitor`.
        execution_id: The id to record under (the scheduler derives it from the slot); a new one if None.
        resources: What the check needs of a node (``{"cpus": 2, "memory": "8GiB"}``).
    """
    ray = cluster.connect()
    request = cluster.resources(**(resources or {}))
    cluster.check_fits(request, what=f"monitor {schedule!r}")
    remote = ray.remote(run_on_node).options(**request.ray_options(), max_retries=NODE_LOSS_RETRIES,
                                             name=f"loopml:monitor:{schedule}")
    ref = remote.remote(schedule, window_start, window_end, execution_id or ids.new_id("mex"),
                        cluster.task_environment())
    return ray.get(ref)  # type: ignore[no-any-return]
