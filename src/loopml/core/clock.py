"""One clock for the whole platform: aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Return ``value`` as aware UTC; naive values (as SQLite returns them) are taken to be UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
