"""Reads for the web app, the dashboard and the sender."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Exists, OuterRef, Q

from .models import OutboxKind, OutboxMessage, OutboxState

if TYPE_CHECKING:
    from recurent.invoices.models import Invoice

# States that need a person: the dashboard counts these.
ATTENTION = (OutboxState.FAILED, OutboxState.UNKNOWN)


# ---- the payment seam -----------------------------------------------------------------
# The payments app (another developer) decides whether an invoice is still to be paid. Until
# recurent.payments.selectors.outstanding exists, only a cancelled invoice counts as settled.


def _payments_outstanding() -> Callable[[Any], Any] | None:
    try:
        mod = importlib.import_module("recurent.payments.selectors")
    except ImportError:
        return None
    fn = getattr(mod, "outstanding", None)
    return fn if callable(fn) else None


def is_outstanding(invoice: Invoice) -> bool:
    """True while a reminder about this invoice still makes sense (not paid, not cancelled)."""
    if invoice.status == "cancelled" or invoice.kind != "invoice":
        return False
    fn = _payments_outstanding()
    if fn is None:
        return True
    # The payments app may answer with a bool or with the amount still due.
    return bool(fn(invoice))


# ---- delivery state per invoice -------------------------------------------------------


@dataclass(frozen=True)
class MessageInfo:
    id: int
    kind: str
    state: str
    state_label: str
    manual: bool
    queued_at: datetime
    sent_at: datetime | None
    attempts: int
    next_attempt_at: datetime | None
    recipients: list[str]
    last_response: str
    message_id: str
    reminder_offset: int | None


@dataclass(frozen=True)
class DeliveryState:
    """What the invoice page shows: the latest invoice email's state, and every message."""

    state: str  # "" when no email was ever queued for the invoice
    state_label: str
    last_response: str
    sent_at: datetime | None
    messages: list[MessageInfo] = field(default_factory=list)

    @property
    def needs_attention(self) -> bool:
        return self.state in ATTENTION


def delivery_state(invoice_id: int) -> DeliveryState:
    rows = list(
        OutboxMessage.objects.filter(invoice_id=invoice_id)
        .select_related("reminder_rule")
        .order_by("-queued_at", "-pk")
    )
    infos = [
        MessageInfo(
            id=m.pk,
            kind=m.kind,
            state=m.state,
            state_label=str(OutboxState(m.state).label),
            manual=m.manual,
            queued_at=m.queued_at,
            sent_at=m.sent_at,
            attempts=m.attempts,
            next_attempt_at=m.not_before if m.state == OutboxState.PENDING else None,
            recipients=list(m.recipients or []),
            last_response=m.last_response,
            message_id=m.message_id,
            reminder_offset=m.reminder_rule.offset_days if m.reminder_rule else None,
        )  # fmt: skip
        for m in rows
    ]
    latest = next((i for i in infos if i.kind == OutboxKind.INVOICE), None)
    if latest is None:
        return DeliveryState(
            state="", state_label="", last_response="", sent_at=None, messages=infos
        )
    return DeliveryState(
        state=latest.state,
        state_label=latest.state_label,
        last_response=latest.last_response,
        sent_at=latest.sent_at,
        messages=infos,
    )


def failed_count(company_id: int) -> int:
    """Failed or uncertain messages not made good since by a later sent message of the same
    invoice and kind (a successful resend clears the failure from the dashboard).

    Invoice emails and reminders only: a notice has no invoice a later message could make it
    good for, so it would stay counted for ever; failed notices are listed on the outbox
    screen ("need attention"), where they can be resent."""
    later_sent = OutboxMessage.objects.filter(
        invoice_id=OuterRef("invoice_id"),
        kind=OuterRef("kind"),
        state=OutboxState.SENT,
        pk__gt=OuterRef("pk"),
    )
    return (
        OutboxMessage.objects.filter(
            company_id=company_id, state__in=ATTENTION, invoice__isnull=False
        )
        .filter(~Exists(later_sent))
        .count()
    )


def failures(company_id: int, *, limit: int = 50) -> list[OutboxMessage]:
    """The messages behind ``failed_count``, newest first (a dashboard list)."""
    later_sent = OutboxMessage.objects.filter(
        invoice_id=OuterRef("invoice_id"),
        kind=OuterRef("kind"),
        state=OutboxState.SENT,
        pk__gt=OuterRef("pk"),
    )
    return list(
        OutboxMessage.objects.filter(
            Q(company_id=company_id) & Q(state__in=ATTENTION) & Q(invoice__isnull=False)
        )
        .filter(~Exists(later_sent))
        .select_related("invoice")
        .order_by("-queued_at", "-pk")[:limit]
    )


def pending_count(*, as_of: datetime | None = None) -> int:
    qs = OutboxMessage.objects.filter(state=OutboxState.PENDING)
    if as_of is not None:
        qs = qs.filter(not_before__lte=as_of)
    return qs.count()


def invoices_awaiting_documents() -> Any:
    """Ids of invoices whose automatic email waits for its PDF/XML (rendered first, through
    ``documents.services.RENDER_FIRST``, so the email does not go without them)."""
    return OutboxMessage.objects.filter(
        state=OutboxState.PENDING, kind=OutboxKind.INVOICE, manual=False
    ).values("invoice_id")
