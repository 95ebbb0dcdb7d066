"""Parsing of command-line values shared by the management commands of every app (dates and
instants in Bucharest time, refused with the option's name)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import CommandError

from recurent.engine.cycles import BUCHAREST, localize


def parse_instant(text: str, option: str) -> datetime:
    """ISO 8601; a value without an offset is Bucharest wall time (RFC 5545 rules for gaps/overlaps)."""
    raw = text.strip().replace("Z", "+00:00")
    try:
        dt = datetime.fromisoformat(raw)
    except ValueError:
        raise CommandError(
            f"{option}: {text!r} is not an ISO 8601 date-time (e.g. 2026-12-01T09:00)"
        ) from None
    return localize(dt, BUCHAREST) if dt.tzinfo is None else dt


def parse_wall(text: str, option: str) -> datetime:
    """A local wall time (naive) in Bucharest; an explicit offset is converted to Bucharest wall time."""
    raw = text.strip().replace("Z", "+00:00")
    try:
        dt = datetime.fromisoformat(raw)
    except ValueError:
        raise CommandError(
            f"{option}: {text!r} is not an ISO 8601 date-time (e.g. 2026-01-31T09:00)"
        ) from None
    return dt.astimezone(BUCHAREST).replace(tzinfo=None) if dt.tzinfo else dt


def command_user(username: str | None) -> Any:
    """The user a command acts as: ``--user NAME``, else the first superuser (as the worker)."""
    from django.contrib.auth import get_user_model

    if username:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"--user: no user {username!r}")
        return user
    user = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    if user is None:
        raise CommandError("--user: no superuser; name one")
    return user
