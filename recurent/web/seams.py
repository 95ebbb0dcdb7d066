"""The small seams to apps built by others (payments, documents, mail): used when present.

Each function degrades to "not available" when the other app has not landed yet, so the web
application works on its own; nothing here holds business logic.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db.models import QuerySet

from recurent.web.templatetags.web import safe_reverse

try:
    from recurent.payments import selectors as payment_selectors
except ImportError:  # pragma: no cover - the payments app is not installed yet
    payment_selectors = None  # type: ignore[assignment]


def payments_available() -> bool:
    return payment_selectors is not None and hasattr(payment_selectors, "with_payment_state")


def with_payment_state(qs: QuerySet[Any], as_of: date | datetime) -> QuerySet[Any]:
    """Annotate payment_state/outstanding_amount when the payments app provides them."""
    if payments_available():
        return payment_selectors.with_payment_state(qs, as_of)
    return qs


def payment_state_labels() -> dict[str, Any]:
    from django.utils.translation import gettext_lazy as _

    return {
        "unpaid": _("unpaid"),
        "partially_paid": _("partially paid"),
        "paid": _("paid"),
        "overdue": _("overdue"),
        "cancelled": _("cancelled"),
        "collection_requested": _("direct debit requested"),
        "credit_note": _("credit note"),
    }


def invoiced_vs_collected(company_id: int, months: int, as_of: datetime) -> list[Any] | None:
    if payments_available() and hasattr(payment_selectors, "invoiced_vs_collected"):
        return list(payment_selectors.invoiced_vs_collected(company_id, months, as_of))
    return None


def receivables(company_id: int, as_of: datetime) -> Any | None:
    if payments_available() and hasattr(payment_selectors, "receivables"):
        return payment_selectors.receivables(company_id, as_of)
    return None


def invoice_links(invoice_id: int) -> dict[str, str | None]:
    """URLs of the invoice's PDF/XML downloads and of recording a payment, where they exist."""
    return {
        "pdf": safe_reverse("documents:invoice-pdf", invoice_id),
        "xml": safe_reverse("documents:invoice-xml", invoice_id),
        "record_payment": _record_payment_url(invoice_id),
        "storno": safe_reverse("invoices:storno", invoice_id),
        "resend": safe_reverse("mail:resend-invoice", invoice_id),
    }


def _record_payment_url(invoice_id: int) -> str | None:
    url = safe_reverse("payments:record-for-invoice", invoice_id)
    if url:
        return url
    url = safe_reverse("payments:record")
    return f"{url}?invoice={invoice_id}" if url else None


def payments_of(invoice_id: int) -> list[Any]:
    """Allocations of payments to the invoice (date, amount, reference), if payments exist."""
    try:
        from recurent.payments.models import Allocation
    except ImportError:  # pragma: no cover
        return []
    return list(
        Allocation.objects.filter(invoice_id=invoice_id)
        .select_related("payment")
        .order_by("payment__date", "pk")
    )
