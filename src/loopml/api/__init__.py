"""The control plane: the loopml REST API (FastAPI) with bearer-token authentication, and the web UI.

Every route calls one public function of a stage; the only logic here is who may call what
(:mod:`loopml.api.policy`, deny by default) and mapping errors to HTTP. Start it with ``loopml server`` or::

    from loopml.api import create_app
    app = create_app()
"""

from __future__ import annotations

from loopml.api.app import create_app
from loopml.api.server import check_bind, serve

__all__ = ["check_bind", "create_app", "serve"]
