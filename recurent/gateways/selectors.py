"""Reads of online payments: the figures the dashboard and the settings page show."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum

from .models import ChargeAttempt, ChargeState, GatewayPayment

DAYS = 30


def figures(company_id: int, as_of: datetime, days: int = DAYS) -> dict[str, Any]:
    """Collected automatically and through pay links, failed charges and why, what to check.

    Four queries whatever the volume; the last ``days`` days."""
    since = as_of - timedelta(days=days)
    collected: dict[str, dict[str, Decimal]] = {
        "automatic": defaultdict(Decimal),
        "link": defaultdict(Decimal),
    }
    rows = (
        GatewayPayment.objects.filter(
            account__company_id=company_id,
            created_at__gte=since,
            refunded=False,
            payment__reversed=False,
        )  # fmt: skip
        .values("automatic", "payment__currency")
        .annotate(total=Sum("payment__amount"), n=Count("pk"))
    )
    counts = {"automatic": 0, "link": 0}
    for r in rows:
        key = "automatic" if r["automatic"] else "link"
        collected[key][r["payment__currency"]] += r["total"] or Decimal(0)
        counts[key] += r["n"]
    failed = list(
        ChargeAttempt.objects.filter(
            company_id=company_id,
            finished_at__gte=since,
            state__in=[ChargeState.DECLINED, ChargeState.NEEDS_ACTION],
        )  # fmt: skip
        .values("state", "error_code")
        .annotate(n=Count("pk"))
        .order_by("-n")
    )
    flagged = list(
        GatewayPayment.objects.filter(account__company_id=company_id)
        .exclude(flag="")
        .select_related("invoice", "payment")
        .order_by("-created_at")[:10]
    )
    pending = ChargeAttempt.objects.filter(
        company_id=company_id, state__in=[ChargeState.READY, ChargeState.STARTED]
    ).count()
    return {
        "days": days,
        "automatic": dict(collected["automatic"]),
        "link": dict(collected["link"]),
        "counts": counts,
        "failed": failed,
        "flagged": flagged,
        "pending": pending,
    }
