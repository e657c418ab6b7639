"""``ray start`` for a node bound to loopback only: ``python -m loopml.testing._ray_node start ...``.

Ray's CLI replaces a ``--node-ip-address`` or ``--address`` of ``127.0.0.1`` with the machine's routable
address, and its servers then listen on every interface. For a cluster that must stay on this machine
(CVE-2023-48022: Ray's APIs have no authentication) this entry point keeps ``127.0.0.1`` as given, so
Ray binds its servers to loopback; everything else is Ray's own ``ray start``. The processes the node
starts (raylet workers, the Ray Client server) inherit ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, Ray's
own switch for "this machine's loopback is the node's address", which this process cannot use itself
because ``ray start`` refuses to join a cluster with it.

``ray start`` also gives the raylet 30 s to register with the GCS, a number fixed in its code; on a machine
loaded far beyond its cores (the suite beside CPU hogs) registration takes longer and the node gives up.
Here the lookup it polls waits up to :data:`REGISTER_WAIT_S` for the node to appear instead.
"""

from __future__ import annotations

import sys
import time
from typing import Any

REGISTER_WAIT_S = 600.0
"""How long a starting node waits for its raylet to register with the GCS (Ray's own limit: 30 s)."""


def _patient(get_node: Any) -> Any:
    def wait_for_node(gcs_address: str, node_id: str) -> Any:
        deadline = time.monotonic() + REGISTER_WAIT_S
        while True:
            try:
                return get_node(gcs_address, node_id)
            except RuntimeError:  # "node not found": not registered yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    return wait_for_node


def main() -> int:
    import os

    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "1"
    import ray._private.services as services
    from ray.scripts.scripts import main as ray_main

    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # for the processes this node starts

    original = services.resolve_ip_for_localhost
    services.resolve_ip_for_localhost = lambda host: host if host == "127.0.0.1" else original(host)
    services.get_node = _patient(services.get_node)
    sys.argv = ["ray", *sys.argv[1:]]
    return int(ray_main() or 0)  # type: ignore[no-untyped-call]  # ray's click entry point has no annotations


if __name__ == "__main__":
    sys.exit(main())
