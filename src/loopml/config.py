"""Settings from the environment and an optional ``loopml.toml``.

Precedence: environment variable > ``loopml.toml`` in the working directory > default.

=================  ==========================  ===========================================
key (env)          key (loopml.toml)           default
=================  ==========================  ===========================================
LOOPML_HOME        home                        ``./.loopml`` in the working directory
LOOPML_DB          db                          ``sqlite:///<home>/loopml.db``
LOOPML_ARTIFACTS   artifacts                   ``<home>/artifacts`` (any fsspec URL: s3://…)
LOOPML_ONLINE      online                      ``sqlite:///<home>/online.db`` (or redis://…)
LOOPML_USER        user                        the OS user
=================  ==========================  ===========================================
"""

from __future__ import annotations

import getpass
import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from loopml.errors import ValidationError

_KEYS = ("home", "db", "artifacts", "online", "user")


@dataclass(frozen=True)
class Settings:
    """Where loopml keeps things. Build with :func:`get_settings`."""

    home: Path
    db_url: str
    artifacts_url: str
    online_url: str
    user: str

    def ensure_home(self) -> Path:
        """Create the home folder if it is missing and return it."""
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home


def _read_toml(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{path} is not valid TOML ({exc}); fix or remove it") from exc
    section = data.get("loopml", data)
    unknown = sorted(set(section) - set(_KEYS))
    if unknown:
        raise ValidationError(
            f"{path} has unknown keys {unknown}; allowed keys are {list(_KEYS)}"
        )
    return {k: str(v) for k, v in section.items()}


def load_settings(cwd: Path | None = None) -> Settings:
    """Read the settings now, without the cache (tests and long-lived servers use this)."""
    cwd = cwd or Path.cwd()
    file = _read_toml(cwd / "loopml.toml")

    def pick(key: str) -> str | None:
        return os.environ.get(f"LOOPML_{key.upper()}") or file.get(key)

    home = Path(pick("home") or cwd / ".loopml").expanduser()
    if not home.is_absolute():
        home = (cwd / home).resolve()
    return Settings(
        home=home,
        db_url=pick("db") or f"sqlite:///{home / 'loopml.db'}",
        artifacts_url=pick("artifacts") or str(home / "artifacts"),
        online_url=pick("online") or f"sqlite:///{home / 'online.db'}",
        user=pick("user") or getpass.getuser(),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; call :func:`reset_settings` after changing env)."""
    return load_settings()


def reset_settings() -> None:
    """Forget cached settings and open stores, so the next call re-reads the environment."""
    get_settings.cache_clear()
    from loopml.core import context

    context.reset()
