"""Batch-transform shards as Ray tasks on the cluster named by the ``cluster`` setting.

The seam is :func:`loopml.serve.transform.shard_executor`: with a cluster set it returns :class:`RayShards`,
whose ``submit`` sends each shard to a node as one Ray task (one CPU). The node fetches the model from the
artifact store by digest (verified byte for byte) into a folder of its own, loads it once per Ray worker
process, and runs the same shard function as the local workers; the input and output folders must be
paths every node sees (a shared filesystem). Ray re-runs a shard whose node was lost; the shard's files
are published with an exclusive link, so a re-run never replaces an output an earlier attempt already
published, and the driver records each shard once. Each shard is recorded in ``cluster_work`` with the
node that ran it. Shards are spread over the nodes (Ray's ``SPREAD`` strategy): with Ray's default policy a
warm transform of ten 0.1 s shards on two one-CPU nodes sometimes ran every shard on one of them.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from loopml.core import cluster

NODE_LOSS_RETRIES = 3
_loaded: dict[str, Any] = {}


def _model_on_node(digest: str, output: str) -> None:
    """Fetch (verified) and load the model on this node once per worker process."""
    from loopml.serve import transform
    from loopml.serve._node_models import fetch_to_node

    key = f"{digest}|{output}"
    if _loaded.get("key") != key:
        transform._init_worker(str(fetch_to_node(digest)), digest, output, 1)
        _loaded.update(key=key, model=transform._worker["model"])
    transform._worker["model"] = _loaded["model"]


def run_shard_on_node(env: dict[str, str], digest: str, output: str, job_id: str, fn: Callable[..., Any],
                      args: tuple[Any, ...]) -> Any:
    """The Ray task body: take on the driver's settings, load the model, run one shard, say which node."""
    from loopml.core import work

    cluster.apply_environment(env)
    node = cluster.current_node()
    with work.running("shard", f"{job_id}/{args[2]}", node=node):
        _model_on_node(digest, output)
        return fn(*args)


class RayShards:
    """An :class:`~concurrent.futures.Executor`-shaped pool whose workers are the cluster's CPUs."""

    def __init__(self, digest: str, output: str) -> None:
        self._ray = cluster.connect()
        self.digest, self.output = digest, output
        self.job_id = "transform"
        self._env = cluster.task_environment()
        self._remote = self._ray.remote(run_shard_on_node).options(
            num_cpus=1, max_retries=NODE_LOSS_RETRIES, retry_exceptions=False, name="loopml:shard",
            scheduling_strategy="SPREAD")
        self._refs: list[Any] = []

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        ref = self._remote.remote(self._env, self.digest, self.output, self.job_id, fn, args)
        self._refs.append(ref)
        return ref.future()  # type: ignore[no-any-return]

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if not cancel_futures:
            return
        for ref in self._refs:
            try:
                self._ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001, S110 - a finished task cannot be cancelled; nothing to do
                pass
