"""Model folders on a cluster node: fetched from the artifact store by digest, verified, kept per node."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def fetch_to_node(digest: str) -> Path:
    """The model folder of ``digest`` on this node, fetched (every byte verified) the first time.

    Two workers of one node fetching at once each stage their own copy; the first rename wins and the
    other copy is dropped (the bytes are the same)."""
    import shutil

    from loopml.core import context

    root = Path(tempfile.gettempdir()) / "loopml-node-models"
    folder = root / digest.split(":")[-1] / "model"
    if folder.exists():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="fetch-", dir=root))
    try:
        context.get_artifacts().get_dir(digest, staging / "model")
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(staging / "model", folder)
        except OSError:
            if not folder.exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
