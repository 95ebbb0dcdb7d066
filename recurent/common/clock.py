"""The only place that reads the system clock. Everything else takes ``as_of``."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(tz=UTC)
