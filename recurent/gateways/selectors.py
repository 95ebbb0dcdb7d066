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


def pay_link_for(invoice: Any) -> str:
    """The invoice's pay link, or "" when there is nothing to pay online (no provider enabled,
    a credit note, nothing left to pay). Two small queries; emails and screens call it."""
    from recurent.payments import selectors as balances

    from .links import pay_url
    from .models import GatewayAccount

    if invoice.kind != "invoice":
        return ""
    if not GatewayAccount.objects.filter(company_id=invoice.company_id, enabled=True).exists():
        return ""
    if balances.outstanding(invoice) <= 0:
        return ""
    return pay_url(invoice.pk)


def pdf_pay_link(d: Any) -> str:
    """``documents.pdf.PAY_LINKS`` hook: the pay link printed on an invoice's PDF (QR code).

    A document snapshot carries no invoice id, so the invoice is found by what identifies it
    in its company (number, issue date, currency, total, seller), and only when that company
    takes online payments. Most installations take none: then one query on the (small) table of
    gateway accounts, instead of the lookup that cost ~9 ms per PDF at 100,000 invoices (the
    currency lets it use the whole invoice_month_figures index; issue 22)."""
    from recurent.invoices.models import Invoice

    from .links import pay_url
    from .models import GatewayAccount

    if d.kind != "invoice" or d.gross_total <= 0:
        return ""
    if not GatewayAccount.objects.filter(enabled=True).exists():
        return ""
    pk = (
        Invoice.objects.filter(
            kind="invoice",
            full_number=d.number,
            issue_date=d.issue_date,
            currency=d.currency,
            gross_total=d.gross_total,
            seller__name=d.seller.name,
            company__gateway_accounts__enabled=True,
        )  # fmt: skip
        .values_list("pk", flat=True)
        .first()
    )
    return pay_url(pk) if pk else ""


def agreements(company_id: int, limit: int = 200) -> list[Any]:
    """The company's card agreements, active first: what each client agreed to, when and how."""
    from .models import CardAgreement

    return list(
        CardAgreement.objects.filter(company_id=company_id)
        .select_related("contract", "client", "account")
        .order_by("status", "-consented_at")[:limit]
    )
