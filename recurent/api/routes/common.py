"""Helpers shared by the routers: pages, ordering, service errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from django.db.models import QuerySet
from pydantic import Field

from ..problems import Problem

T = TypeVar("T")

MAX_LIMIT = 200
# Ids fit a signed 64-bit integer (SQLite INTEGER, PostgreSQL bigint); larger is not an id.
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
MAX_OFFSET = 1_000_000


def page(
    qs: QuerySet[Any],
    *,
    limit: int,
    offset: int,
    ordering: str,
    tiebreak: Sequence[str] = ("-pk",),
    out: Callable[[Any], Any] = lambda o: o,
) -> dict[str, Any]:
    """One page of ``qs`` in a stable order (``ordering`` then ``tiebreak``)."""
    qs = qs.order_by(ordering, *tiebreak)
    return {
        "count": qs.count(),
        "limit": limit,
        "offset": offset,
        "items": [out(o) for o in qs[offset : offset + limit]],
    }


def not_found(what: str) -> Problem:
    return Problem(404, "not_found", f"no such {what}")
