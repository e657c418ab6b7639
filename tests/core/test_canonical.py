"""skops files are byte-stable: the same estimator saved in two processes gives the same bytes, and loads."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

_SAVE = """
import sys, numpy as np, pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from loopml import models
X = pd.DataFrame(np.random.default_rng(0).normal(size=(200, 3)), columns=["a", "b", "c"])
model = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=4, random_state=0)).fit(X, X.a > 0)
junk = [object() for _ in range(int(sys.argv[2]))]  # shifts memory addresses, which skops used as names
models.save(model, sys.argv[1], input_example=X.head(2))
"""


def test_the_same_estimator_saved_in_two_processes_has_the_same_bytes(tmp_path: Path) -> None:
    digests = []
    for i, junk in enumerate((0, 5000)):
        folder = tmp_path / f"m{i}"
        subprocess.run([sys.executable, "-c", _SAVE, str(folder), str(junk)], check=True, timeout=300)
        digests.append(hashlib.sha256((folder / "model.skops").read_bytes()).hexdigest())
    assert digests[0] == digests[1]

    from loopml import models

    loaded = models.load(tmp_path / "m0")
    import pandas as pd

    assert list(loaded.predict(pd.DataFrame({"a": [3.0, -3.0], "b": [0.0, 0.0], "c": [0.0, 0.0]}))) == [True, False]
