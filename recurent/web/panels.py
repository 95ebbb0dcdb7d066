"""What the company's pages show of payments, e-Factura, mail and API tokens, read through those
apps' selectors in the queries the pages need (no logic of their own: the rules are in the apps).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from recurent.companies import api_tokens
from recurent.companies.models import ApiToken
from recurent.efactura import models as efactura_models
from recurent.efactura import selectors as efactura_selectors
from recurent.invoices import review
from recurent.mail import selectors as mail_selectors
from recurent.mail import services as mail_services
from recurent.payments import selectors as payment_selectors
from recurent.payments.models import Allocation

# --- payments -----------------------------------------------------------------------------------


def with_payment_state(qs: QuerySet[Any], as_of: date | datetime) -> QuerySet[Any]:
    """Annotate payment_state/outstanding_amount (the stored balances)."""
    return payment_selectors.with_payment_state(qs, as_of)


PAYMENT_STATE_LABELS = {
    "unpaid": _("unpaid"),
    "partially_paid": _("partially paid"),
    "paid": _("paid"),
    "overdue": _("overdue"),
    "cancelled": _("cancelled"),
    "collection_requested": _("direct debit requested"),
    "credit_note": _("credit note"),
}


def payment_state_labels() -> dict[str, Any]:
    return PAYMENT_STATE_LABELS


def receivables(company_id: int, as_of: datetime) -> Any:
    return payment_selectors.receivables(company_id, as_of)


def invoice_links(invoice_id: int) -> dict[str, str | None]:
    """URLs of the invoice's PDF/XML downloads, recording a payment, storno and e-Factura."""
    return {
        "pdf": reverse("documents:invoice-pdf", args=[invoice_id]),
        "xml": reverse("documents:invoice-xml", args=[invoice_id]),
        "record_payment": reverse("payments:record-for-invoice", args=[invoice_id]),
        "storno": reverse("web:invoice-storno", args=[invoice_id]),
        "resend": reverse("web:invoice-resend", args=[invoice_id]),
        "efactura_send": reverse("efactura:send", args=[invoice_id]),
        "efactura_answer": reverse("efactura:answer", args=[invoice_id]),
        "efactura_correct": reverse("efactura:correct", args=[invoice_id]),
    }


def payments_of(invoice_id: int) -> list[Any]:
    """Allocations of payments to the invoice (date, amount, reference)."""
    return list(
        Allocation.objects.filter(invoice_id=invoice_id)
        .select_related("payment")
        .order_by("payment__date", "pk")
    )


# --- e-Factura ----------------------------------------------------------------------------------


def efactura_state_labels() -> dict[str, Any]:
    return dict(efactura_models.EState.choices)


def with_efactura_state(qs: QuerySet[Any]) -> QuerySet[Any]:
    """Annotate ``efactura_state`` (a LEFT JOIN on the one-to-one row: no query per invoice).

    Only the state column is read: the row also holds ANAF's ZIP, which a list must not load.
    """
    return qs.annotate(efactura_state=F("efactura__state"))


def filter_efactura_state(qs: QuerySet[Any], state: str) -> QuerySet[Any]:
    if state not in efactura_state_labels():
        return qs
    if state == efactura_models.EState.NOT_SENT:
        # An invoice gets its state row only once it is queued: no row means "not sent".
        return qs.filter(Q(efactura__isnull=True) | Q(efactura__state=state))
    return qs.filter(efactura__state=state)


def efactura_of(invoice_id: int) -> dict[str, Any]:
    """The invoice's e-Factura state, ANAF's errors and every exchange with ANAF (two queries)."""
    # How many corrections (after ANAF rejected it) the invoice has: in the same query.
    corrections = (
        efactura_models.InvoiceCorrection.objects.filter(invoice_id=OuterRef("pk"))
        .values("invoice_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    st = (
        efactura_models.EfacturaState.objects.filter(pk=invoice_id)
        .defer("answer_zip", "raw_errors")
        .annotate(corrections=Subquery(corrections))
        .first()
    )
    if st is None:
        return {"state": efactura_models.EState.NOT_SENT, "row": None, "attempts": []}
    return {
        "state": st.state,
        "row": st,
        "has_answer": bool(st.answer_sha256),
        "attempts": list(st.attempts.all()),
        "corrections": st.corrections or 0,  # type: ignore[attr-defined]
    }


def efactura_attention(company_id: int, as_of: datetime, limit: int = 10) -> dict[str, Any]:
    """The dashboard's e-Factura box: rejections to fix and invoices past the deadline watch."""
    rejected = efactura_models.EfacturaState.objects.filter(
        company_id=company_id, state=efactura_models.EState.REJECTED
    )
    # The selector bounds issue_date (no index); the same bound on issued_at, one day wider,
    # lets the (company, issued_at) index find the window instead of reading every invoice.
    since = as_of - timedelta(days=efactura_selectors.WATCH_WINDOW_DAYS + 1)
    late = (
        efactura_selectors.invoices_not_accepted(company_id=company_id, as_of=as_of)
        .filter(issued_at__gte=since)
        .defer("efactura__answer_zip", "efactura__raw_errors", "seller", "buyer", "vat_breakdown")
    )
    rejected_rows = list(
        rejected.select_related("invoice")
        .only("invoice__full_number", "invoice__buyer_name", "errors", "decided_at", "state")
        .order_by("-decided_at", "-pk")[:limit]
    )
    late_rows = list(late[:limit])
    return {
        "rejected": rejected_rows,
        "rejected_count": bounded_count(rejected_rows, limit, rejected),
        "late": late_rows,
        "late_count": bounded_count(late_rows, limit, late),
    }


def bounded_count(rows: list[Any], limit: int, qs: QuerySet[Any]) -> int:
    """The number of rows, counted in SQL only when the first page is full (usually it is not)."""
    return len(rows) if len(rows) < limit else int(qs.count())


def clients_flagged(company_id: int, client_id: int | None = None) -> list[Any]:
    """Open flags of ANAF's registry re-check (a client became inactive, changed address…)."""
    qs = efactura_selectors.clients_flagged(company_id=company_id)
    if client_id is not None:
        qs = qs.filter(client_id=client_id)
    return list(qs[:50])


# --- review before numbering -------------------------------------------------------------------


def review_waiting(company: Any, as_of: datetime, limit: int = 10) -> dict[str, Any]:
    """The dashboard's review box (invoices.review): how many contract invoices wait for review,
    and those waiting longer than the company's ``review_stale_days``, oldest first."""
    count = review.review_queue(company_id=company.pk).count()
    stale = review.review_stale(company=company, as_of=as_of)
    rows = list(stale[:limit]) if count else []  # most companies review nothing: one query
    return {
        "count": count,
        "stale": rows,
        "stale_count": bounded_count(rows, limit, stale),
        "stale_days": company.review_stale_days,
    }


# --- mail ---------------------------------------------------------------------------------------


def mail_failures(company_id: int, limit: int = 10) -> tuple[int, list[Any]]:
    rows = mail_selectors.failures(company_id, limit=limit)
    count = len(rows) if len(rows) < limit else mail_selectors.failed_count(company_id)
    return count, rows


def delivery_of(invoice_id: int) -> Any:
    return mail_selectors.delivery_state(invoice_id)


def invoice_resend(*, invoice: Any, as_of: datetime) -> Any:
    return mail_services.outbox_resend(invoice=invoice, as_of=as_of)


# --- API tokens ---------------------------------------------------------------------------------


def api_tokens_of(company_id: int) -> list[Any]:
    """The company's tokens, live first (never the secret: only its hash is stored)."""
    return list(
        ApiToken.objects.filter(company_id=company_id)
        .select_related("user")
        .defer("hash")
        .order_by(F("revoked_at").desc(nulls_first=True), "-created", "-pk")
    )


def api_token_create(*, user: Any, company: Any, name: str, as_of: datetime) -> tuple[Any, str]:
    return api_tokens.api_token_create(user=user, company=company, name=name, as_of=as_of)


def api_token_revoke(*, token: Any, as_of: datetime) -> Any:
    return api_tokens.api_token_revoke(token=token, as_of=as_of)


def api_docs_url() -> str:
    return reverse("api:v1:openapi-view")
