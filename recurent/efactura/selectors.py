"""Reads for the dashboard, the invoice page and the client list."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet

from recurent.engine.cycles import BUCHAREST
from recurent.invoices.models import Invoice

from .models import ClientAnafCheck, EfacturaState, EState, IncomingInvoice, SpvConnection

DEFAULT_DEADLINE_DAYS = 3
# Older invoices are not watched: ANAF keeps messages ~60 days, and a fresh install must not
# warn about years of history.
WATCH_WINDOW_DAYS = 60


def invoices_not_accepted(
    *, company_id: int, as_of: datetime, days: int | None = None
) -> QuerySet[Invoice]:
    """Invoices issued at least ``days`` days ago (the company's setting) not yet accepted by ANAF."""
    if days is None:
        days = (
            SpvConnection.objects.filter(company_id=company_id)
            .values_list("deadline_days", flat=True)
            .first()
            or DEFAULT_DEADLINE_DAYS
        )
    today = as_of.astimezone(BUCHAREST).date()
    accepted = EfacturaState.objects.filter(invoice=OuterRef("pk"), state=EState.ACCEPTED)
    return (
        Invoice.objects.filter(
            company_id=company_id,
            issue_date__lte=today - timedelta(days=days),
            issue_date__gt=today - timedelta(days=WATCH_WINDOW_DAYS),
        )
        .exclude(Exists(accepted))
        .select_related("efactura")
        .order_by("issue_date", "pk")
    )


def efactura_state(*, invoice_id: int) -> EfacturaState | None:
    return EfacturaState.objects.filter(pk=invoice_id).first()


def incoming_for(*, company_id: int) -> QuerySet[IncomingInvoice]:
    return IncomingInvoice.objects.filter(company_id=company_id).defer("zip")


def clients_flagged(*, company_id: int) -> QuerySet[ClientAnafCheck]:
    """Open registry flags (a client became inactive, stopped being a VAT payer…)."""
    return ClientAnafCheck.objects.filter(
        client__company_id=company_id, acknowledged_at__isnull=True
    ).select_related("client")


def states_needing_attention(*, company_id: int) -> QuerySet[EfacturaState]:
    return EfacturaState.objects.filter(company_id=company_id).filter(
        Q(state=EState.REJECTED) | Q(state=EState.UPLOADING)
    )
