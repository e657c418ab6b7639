"""Settings: one typed model, read from the environment and an optional ``loopml.toml``.

Precedence: environment variable (``LOOPML_<KEY>``) > ``loopml.toml`` in the working directory (a
``[loopml]`` table or top-level keys) > default. Every setting is a row of :data:`SETTINGS`; ``loopml
config show`` prints each effective value and where it came from, and ``docs/settings.md`` is generated
from the same rows. Values are checked when read, all at once: one error names every bad value.

Example:
    >>> from loopml.config import SETTINGS
    >>> [s.env for s in SETTINGS][:3]
    ['LOOPML_HOME', 'LOOPML_DB', 'LOOPML_ARTIFACTS']
"""

from __future__ import annotations

import getpass
import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from loopml.errors import ValidationError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class Setting:
    """One setting: its ``loopml.toml`` key (the environment variable is ``LOOPML_`` + the key upper-cased),
    the attribute of :class:`Settings` that holds it, its kind, the default (as documented) and what it does."""

    key: str
    attr: str
    kind: str  # path | text | url | secret-url | secret | seconds | interval | count | flag | level
    default: str
    doc: str

    @property
    def env(self) -> str:
        """The environment variable, e.g. ``LOOPML_LEASE_TTL``."""
        return f"LOOPML_{self.key.upper()}"


SETTINGS: tuple[Setting, ...] = (
    Setting("home", "home", "path", "`./.loopml` in the working directory",
            "Where loopml keeps its SQLite database, artifacts, capture files and logs by default."),
    Setting("db", "db_url", "secret-url", "`sqlite:///<home>/loopml.db`",
            "The metadata database, a SQLAlchemy URL; `postgresql+psycopg://user@host/db` scales out."),
    Setting("artifacts", "artifacts_url", "url", "`<home>/artifacts`",
            "The content-addressed artifact store: a folder or any fsspec URL (`s3://bucket/prefix`)."),
    Setting("online", "online_url", "secret-url", "`sqlite:///<home>/online.db`",
            "The online feature store; `redis://host:6379/0` scales out."),
    Setting("user", "user", "text", "the OS user",
            "The identity embedded actions are attributed to (it must hold a role)."),
    Setting("cluster", "cluster", "text", "unset: work runs on this machine",
            "`ray://HOST:10001` (a Ray cluster through Ray Client) or `auto` (the cluster `ray.init` finds: "
            "`RAY_ADDRESS` or a local head); see scale-out.md."),
    Setting("queue", "queue", "secret-url", "unset: the metadata database",
            "The async-endpoint queue; `redis://host:6379/0?prefix=…` scales out."),
    Setting("capture", "capture", "url", "`<home>/capture`",
            "Where endpoints write captured requests and responses: a folder or `s3://bucket/prefix`."),
    Setting("features", "features", "url", "`<home>/features`",
            "The offline feature store's Parquet files: a folder or `s3://bucket/prefix`."),
    Setting("async_root", "async_root", "url", "`<artifacts>/async` when the artifacts are on S3, else `<home>/async`",
            "Where async endpoints keep request inputs and results named by S3 URI: a folder or `s3://bucket/prefix`."),
    Setting("secrets_key", "secrets_key", "secret", "`<home>/keys/secrets.key` (made on first use)",
            "The server key (32 bytes, base64) that seals SigV4 key-pair secrets; shared by every control-plane process."),
    Setting("s3_endpoint", "s3_endpoint", "url", "`AWS_ENDPOINT_URL`, else AWS itself",
            "The endpoint of a non-AWS S3-compatible store, `http://host:port` (credentials: the usual `AWS_*`)."),
    Setting("lease_ttl", "lease_ttl", "seconds", "`30`",
            "Seconds a pipeline execution's lease lasts without a heartbeat before another process may resume it."),
    Setting("scheduler_lease_ttl", "scheduler_lease_ttl", "seconds", "`900`",
            "Seconds a monitoring-schedule run's lease lasts before another scheduler may retry the slot."),
    Setting("train_slots", "train_slots", "count", "the number of CPUs",
            "Training jobs that run at once on this machine; more wait for a slot."),
    Setting("replica_memory_mb", "replica_memory_mb", "count", "`8192`",
            "Address-space limit (MB) of each process that loads a model (replicas, batch transform)."),
    Setting("metric_flush_seconds", "metric_flush_seconds", "interval", "`1`",
            "How often a training script's logged metrics are written to the metadata database."),
    Setting("webhook_allow", "webhook_allow", "text", "none: public addresses only",
            "Private networks outbound webhooks may reach, `10.1.0.0/16,192.168.4.0/24`."),
    Setting("dns", "dns", "text", "the system resolver",
            "`host[:port]` of the DNS server asked for the addresses of outbound webhook hosts."),
    Setting("debug", "debug", "flag", "off",
            "`1`: the CLI prints the traceback of an error nobody expected (exit code 70)."),
    Setting("log_level", "log_level", "level", "`WARNING`",
            f"Level of the lines the `loopml.*` loggers write to stderr: {', '.join(LOG_LEVELS)}."),
)
_BY_KEY = {s.key: s for s in SETTINGS}

#: ``LOOPML_*`` variables that are not settings: loopml sets them for its own processes, or tests use them.
INTERNAL_VARIABLES: dict[str, str] = {
    "LOOPML_RUN_ID": "set for a training job's process: the run it logs to",
    "LOOPML_SEED": "set for a training job's process: its random seed",
    "LOOPML_ALGORITHM": "set for a built-in algorithm's process: which algorithm to run",
    "LOOPML_CHECKPOINT_DIR": "set for a training job's process: where it writes checkpoints",
    "LOOPML_FAULTS": "fault injection for the crash tests (`point=action,...`)",
    "LOOPML_FAULT_SLEEP": "fault injection: seconds a `sleep` fault stalls",
    "LOOPML_FAULT_GATE": "fault injection: the file a `pause` fault waits for",
    "LOOPML_TEAM_PG": "`make demo-team`: the PostgreSQL server it creates its database on",
}


@dataclass(frozen=True)
class Settings:
    """The effective settings (see :data:`SETTINGS` for what each does). Build with :func:`get_settings`."""

    home: Path
    db_url: str
    artifacts_url: str
    online_url: str
    user: str
    cluster: str | None = None
    queue: str | None = None
    capture: str = ""
    features: str = ""
    async_root: str | None = None
    secrets_key: str | None = None
    s3_endpoint: str | None = None
    lease_ttl: float = 30.0
    scheduler_lease_ttl: float = 900.0
    train_slots: int = 1
    replica_memory_mb: int = 8192
    metric_flush_seconds: float = 1.0
    webhook_allow: str = ""
    dns: str = ""
    debug: bool = False
    log_level: str = "WARNING"

    def ensure_home(self) -> Path:
        """Create the home folder if it is missing and return it."""
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home


@dataclass(frozen=True)
class Source:
    """Where one effective value came from: ``env`` (with the variable), ``loopml.toml`` or ``default``."""

    setting: Setting
    value: Any
    origin: str

    def public_value(self) -> str | float | int | bool | None:
        """The value as ``config show`` prints it: JSON-ready, a password in a URL masked."""
        if self.value is None or isinstance(self.value, bool | int | float):
            return self.value
        text = str(self.value)
        if self.setting.kind == "secret":
            return "***"
        return _mask(text) if self.setting.kind == "secret-url" else text


def _mask(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{path} is not valid TOML ({exc}); fix or remove it") from exc
    section = data.get("loopml", data)
    unknown = sorted(set(section) - set(_BY_KEY))
    if unknown:
        raise ValidationError(f"{path} has unknown keys {unknown}; allowed keys are {sorted(_BY_KEY)} "
                              "(see 'loopml config show')", keys=unknown)
    return dict(section)


def _raw(cwd: Path, env: Mapping[str, str]) -> dict[str, tuple[Any, str]]:
    """Each setting given by the environment or the file, with its origin."""
    found: dict[str, tuple[Any, str]] = {}
    file = _read_toml(cwd / "loopml.toml")
    for setting in SETTINGS:
        if env.get(setting.env):
            found[setting.key] = (env[setting.env], f"env {setting.env}")
        elif file.get(setting.key) not in (None, ""):
            found[setting.key] = (file[setting.key], "loopml.toml")
    return found


def _number(value: Any, name: str, *, low: float, strict: bool = False) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number) or number < low or (strict and number == low):
        bound = f"> {low:g}" if strict else f">= {low:g}"
        raise ValueError(f"{name} must be a finite number {bound}, not {value!r}")
    return number


def _count(value: Any, name: str) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or int(text) < 1:
        raise ValueError(f"{name} must be a whole number >= 1, not {value!r}")
    return int(text)


def _flag(value: Any, name: str) -> bool:
    text = str(value).strip().lower()
    if isinstance(value, bool) or text in ("1", "0", "true", "false", "yes", "no", "on", "off"):
        return value if isinstance(value, bool) else text in ("1", "true", "yes", "on")
    raise ValueError(f"{name} must be 1 or 0 (true/false), not {value!r}")


def _level(value: Any, name: str) -> str:
    text = str(value).strip().upper()
    if text not in LOG_LEVELS:
        raise ValueError(f"{name} must be one of {list(LOG_LEVELS)}, not {value!r}")
    return text


def _cluster(value: Any, name: str) -> str:
    text = str(value)
    if text == "auto" or (text.startswith("ray://") and len(text) > len("ray://")):
        return text
    raise ValueError(f"{name} {text!r} is not 'auto' or a Ray Client address 'ray://HOST:PORT' "
                     "(unset it to run on this machine)")


_PARSERS: dict[str, Callable[[Any, str], Any]] = {
    "seconds": lambda v, n: _number(v, n, low=0.0, strict=True),
    "interval": lambda v, n: _number(v, n, low=0.0),
    "count": _count,
    "flag": _flag,
    "level": _level,
}


def _defaults(home: Path) -> dict[str, Any]:
    return {
        "db": f"sqlite:///{home / 'loopml.db'}", "artifacts": str(home / "artifacts"),
        "online": f"sqlite:///{home / 'online.db'}", "user": getpass.getuser(), "cluster": None, "queue": None,
        "capture": str(home / "capture"), "features": str(home / "features"), "async_root": None,
        "secrets_key": None,
        "s3_endpoint": os.environ.get("AWS_ENDPOINT_URL") or None, "lease_ttl": 30.0,
        "scheduler_lease_ttl": 900.0, "train_slots": max(1, os.cpu_count() or 1), "replica_memory_mb": 8192,
        "metric_flush_seconds": 1.0, "webhook_allow": "", "dns": "", "debug": False, "log_level": "WARNING",
    }


def describe(cwd: Path | None = None, env: Mapping[str, str] | None = None) -> list[Source]:
    """Every setting's effective value and where it came from, in :data:`SETTINGS` order.

    Raises:
        ValidationError: ``loopml.toml`` is not valid TOML or has unknown keys, or values are malformed
            (every bad value is named at once, with the variable or key that gave it).
    """
    cwd = cwd or Path.cwd()
    raw = _raw(cwd, os.environ if env is None else env)
    home_value, home_origin = raw.get("home", (None, "default"))
    home = Path(str(home_value)).expanduser() if home_value is not None else cwd / ".loopml"
    home = home if home.is_absolute() else (cwd / home).resolve()
    defaults, sources, errors = _defaults(home), [Source(_BY_KEY["home"], home, home_origin)], []
    for setting in SETTINGS[1:]:
        value, origin = raw.get(setting.key, (defaults[setting.key], "default"))
        if origin != "default":
            try:
                value = _parse(setting, value, origin)
            except ValueError as exc:
                errors.append(str(exc) if origin.startswith("env") else f"{exc} in loopml.toml")
        sources.append(Source(setting, value, origin))
    if errors:
        raise ValidationError("bad settings: " + "; ".join(errors) + "; fix or unset them "
                              "('loopml config show' lists every setting)", errors=errors)
    return sources


def _parse(setting: Setting, value: Any, origin: str) -> Any:
    name = setting.env if origin.startswith("env") else setting.key
    if setting.key == "cluster":
        return _cluster(value, name)
    parser = _PARSERS.get(setting.kind)
    return parser(value, name) if parser else str(value)


def load_settings(cwd: Path | None = None) -> Settings:
    """Read the settings now, without the cache (tests and long-lived servers use this)."""
    return Settings(**{s.setting.attr: s.value for s in describe(cwd)})


@lru_cache(maxsize=4)
def _cached(env: tuple[str | None, ...]) -> Settings:
    return load_settings()


def get_settings() -> Settings:
    """The process-wide settings: read once, and again when a setting's environment variable changed (or
    after :func:`reset_settings`, which also re-reads ``loopml.toml``)."""
    return _cached(tuple(os.environ.get(s.env) for s in SETTINGS))


def reset_settings() -> None:
    """Forget the cached settings, so the next call re-reads the environment and ``loopml.toml``.

    The stores opened from other database or artifact URLs are closed when next asked for
    (:mod:`loopml.core.context` compares them), so the config module needs nothing from the core.
    """
    _cached.cache_clear()


def settings_markdown() -> str:
    """The table of every setting, as ``docs/settings.md`` shows it (generated, and tested against it)."""
    lines = ["| environment | `loopml.toml` | default | what it does |", "|---|---|---|---|"]
    lines += [f"| `{s.env}` | `{s.key}` | {s.default} | {s.doc} |" for s in SETTINGS]
    lines += ["", "Not settings: variables loopml sets for its own processes, and test hooks.", "",
              "| variable | what it is |", "|---|---|"]
    lines += [f"| `{name}` | {what} |" for name, what in INTERNAL_VARIABLES.items()]
    return "\n".join(lines) + "\n"
