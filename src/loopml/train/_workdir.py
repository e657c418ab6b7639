"""A job's working folder laid out like SageMaker's ``/opt/ml``, its channels and its environment."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopml import pipelines
from loopml.core import context
from loopml.core.hashing import sha256_file, sha256_path
from loopml.errors import NotFoundError, ValidationError


@dataclass(frozen=True)
class Layout:
    """The folders of one job (``root`` is ``<home>/train/<run_id>``)."""

    root: Path

    @property
    def code(self) -> Path:
        return self.root / "code"

    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def output(self) -> Path:
        return self.root / "output"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def config(self) -> Path:
        return self.root / "input" / "config"

    @property
    def logs(self) -> Path:
        return self.root / "logs.txt"

    @property
    def pid_file(self) -> Path:
        return self.root / "job.pid"

    def channel(self, name: str) -> Path:
        return self.root / "input" / "data" / name

    def create(self) -> Layout:
        for folder in (self.code, self.model, self.output / "data", self.checkpoints, self.config):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def layout_for(run_id: str) -> Layout:
    """The working folder of run ``run_id`` under the loopml home."""
    return Layout(context.get_settings().home / "train" / run_id)


# -- channels --------------------------------------------------------------------------------------
def resolve_channel(name: str, source: Any) -> dict[str, Any]:
    """What a channel is bound to, checked before anything starts.

    ``source`` is a catalog dataset (``"churn"`` or ``"churn@2"``), a Parquet/CSV file or folder path, or
    a DataFrame. Raises NotFoundError when neither a dataset nor a file of that name exists.
    """
    if not name.replace("_", "").replace("-", "").isalnum():
        raise ValidationError(f"channel name {name!r} may hold letters, digits, '_' and '-' only")
    if hasattr(source, "to_parquet"):
        import io

        buf = io.BytesIO()
        source.to_parquet(buf, index=False)
        ref = context.get_artifacts().put_bytes(buf.getvalue())
        return {"type": "dataframe", "sha256": ref.sha256, "file": "data.parquet"}
    text = str(source)
    path = Path(text)
    if path.exists():
        return {"type": "file", "path": str(path.resolve()), "sha256": sha256_path(path)}
    return _dataset_channel(name, text)


def _dataset_channel(channel: str, text: str) -> dict[str, Any]:
    from loopml import data

    dataset, _, version = text.partition("@")
    try:
        info = data.get_dataset(dataset, int(version) if version else None)
    except (NotFoundError, ValueError) as exc:
        raise NotFoundError(
            f"channel {channel!r} names {text!r}, which is neither a registered dataset nor an existing file: "
            f"{exc}", channel=channel, source=text) from exc
    return {"type": "dataset", "name": info.name, "version": info.version, "sha256": info.sha256,
            "file": "data.parquet"}


def channel_columns(info: dict[str, Any]) -> list[str] | None:
    """The column names of a resolved channel (a dataset, or a CSV/Parquet file or folder), read without
    loading the rows; None when they cannot be told up front (a folder of other files, a DataFrame)."""
    if info["type"] == "dataset":
        from loopml import data

        return [c.name for c in data.get_dataset(info["name"], info["version"]).schema]
    if info["type"] != "file":
        return None
    path = Path(info["path"])
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.suffix.lower() in (".csv", ".parquet"))
        if not found:
            return None
        path = found[0]
    try:
        if path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        if path.suffix.lower() == ".csv":
            import pandas as pd

            return [str(c) for c in pd.read_csv(path, nrows=0).columns]
    except Exception:  # noqa: BLE001  (an unreadable file is reported by the job that reads it)
        return None
    return None


def materialize_channel(layout: Layout, name: str, info: dict[str, Any]) -> Path:
    """Write a channel's data into ``input/data/<name>/`` (idempotent)."""
    dest = layout.channel(name)
    if dest.exists() and any(dest.iterdir()):
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    if info["type"] in ("dataset", "dataframe"):
        context.get_artifacts().get_file(info["sha256"], dest / info["file"])
    elif Path(info["path"]).is_dir():
        shutil.copytree(info["path"], dest, dirs_exist_ok=True)
    else:
        shutil.copy2(info["path"], dest / Path(info["path"]).name)
    return dest


# -- environment -----------------------------------------------------------------------------------
def job_env(layout: Layout, *, run_id: str, channels: list[str], hps: dict[str, Any], seed: int,
            algorithm: str | None, extra: dict[str, str]) -> dict[str, str]:
    """The job's environment: the SageMaker script-mode variables, their LOOPML_* twins and ``extra``."""
    env = dict(os.environ)
    sm = {
        "SM_MODEL_DIR": str(layout.model), "SM_OUTPUT_DIR": str(layout.output),
        "SM_OUTPUT_DATA_DIR": str(layout.output / "data"), "SM_INPUT_DIR": str(layout.root / "input"),
        "SM_INPUT_CONFIG_DIR": str(layout.config), "SM_CHECKPOINT_DIR": str(layout.checkpoints),
        "SM_CHANNELS": json.dumps(channels), "SM_HPS": json.dumps(hps), "SM_HOSTS": json.dumps(["algo-1"]),
        "SM_CURRENT_HOST": "algo-1", "SM_NUM_CPUS": str(os.cpu_count() or 1), "SM_NUM_GPUS": "0",
        "SM_USER_ARGS": json.dumps(user_args(hps)),
    }
    sm.update({f"SM_CHANNEL_{c.upper()}": str(layout.channel(c)) for c in channels})
    sm.update({f"SM_HP_{k.upper()}": _hp_text(v) for k, v in hps.items()})
    env.update(sm)
    env.update({"LOOPML_" + k[3:]: v for k, v in sm.items() if k.startswith(("SM_MODEL", "SM_OUTPUT", "SM_CHECK",
                                                                               "SM_CHANNEL", "SM_HPS"))})
    env.update({"LOOPML_RUN_ID": run_id, "LOOPML_SEED": str(seed), "PYTHONUNBUFFERED": "1"})
    if algorithm:
        env["LOOPML_ALGORITHM"] = algorithm
    env.update(extra)
    return env


def _hp_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def user_args(hps: dict[str, Any]) -> list[str]:
    """Hyperparameters as command-line arguments (``--epochs 10``), as SageMaker script mode passes them."""
    out: list[str] = []
    for key, value in hps.items():
        out += [f"--{key}", _hp_text(value)]
    return out


def write_config(layout: Layout, hps: dict[str, Any], channels: dict[str, Any]) -> None:
    (layout.config / "hyperparameters.json").write_text(json.dumps({k: _hp_text(v) for k, v in hps.items()}))
    (layout.config / "inputdataconfig.json").write_text(json.dumps({c: {} for c in channels}))
    (layout.config / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))


def environment_info() -> dict[str, Any]:
    """Python, platform, every installed package's version (the lock), thread and seed settings."""
    from loopml.core.environment import environment_info as info

    return info()


def code_info(script: Path | None, algorithm: str | None, *, origin: Path | None = None) -> dict[str, Any]:
    """The code a job runs: git commit and dirty-diff hash of ``origin``, the script's sha256 (or the built-in)."""
    info: dict[str, Any] = dict(pipelines.git_info(origin if origin is not None else Path.cwd()))
    if script is not None:
        info["script"] = script.name
        info["script_sha256"] = sha256_file(script)
    if algorithm is not None:
        import loopml

        info["algorithm"] = algorithm
        info["loopml"] = loopml.__version__
    return info
