"""What the zygote imports once, so that replicas and transform workers forked from it do not.

Everything a replica needs before it loads its model: the server, uvicorn, pandas, scikit-learn and
skops (the default flavor). XGBoost, LightGBM and ONNX Runtime are imported by the replicas that load
such a model: preloading them would slow every endpoint's first start for models that may never come.
"""

from __future__ import annotations

import importlib

_MODULES = (
    "numpy", "pandas", "pyarrow.parquet", "uvicorn", "uvicorn.protocols.http.httptools_impl", "httptools",
    "uvicorn.lifespan.on", "loopml.models", "loopml.serve.server", "loopml.serve.replica", "loopml.serve._model",
    "loopml.serve._spool", "loopml.serve.multimodel", "loopml.serve.metrics", "skops.io", "sklearn.linear_model",
    "sklearn.ensemble", "sklearn.pipeline", "sklearn.preprocessing", "sklearn.compose", "sklearn.tree",
)


def preload() -> list[str]:
    """Import the modules; returns those that are not installed."""
    missing = []
    for name in _MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


preload()
