"""What the billing engine would issue as of an instant (writes nothing)."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest
from ninja import Query, Router
from pydantic import AwareDatetime

from recurent.common import clock
from recurent.invoices.services import issue_due

from ..auth import caller_of
from ..problems import Problem
from ..schemas import PreviewOut

router = Router(tags=["billing"])

# A preview lists every period due by as_of; further than this it would be a forecast of
# thousands of rows, which is the schedule's job.
MAX_AHEAD = timedelta(days=400)


@router.get(
    "/billing/preview",
    response=PreviewOut,
    summary="What a billing run as of an instant would issue",
)
def billing_preview(
    request: HttpRequest,
    as_of: AwareDatetime | None = Query(None, description="default: now"),  # noqa: B008
) -> dict:
    now = clock.now()
    at = as_of or now
    if at > now + MAX_AHEAD or at.year < 2000:
        raise Problem(
            422,
            "validation_error",
            "as_of: at most 400 days ahead",
            [{"field": "as_of", "code": "invalid", "message": "at most 400 days ahead"}],
        )
    result = issue_due(as_of=at, dry_run=True, company_id=caller_of(request).company_id)
    return {
        "as_of": at,
        "count": len(result.previews),
        "items": result.previews,
        "held": [{"contract_id": c, "reason": r} for c, r in result.held],
    }
