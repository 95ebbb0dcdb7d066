"""The small seams to apps built by others (payments, documents, mail, e-Factura): used when present.

Each function degrades to "not available" when the other app has not landed yet, so the web
application works on its own; nothing here holds business logic.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery

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
        "storno": safe_reverse("documents:storno", invoice_id)
        or safe_reverse("invoices:storno", invoice_id)
        or safe_reverse("web:invoice-storno", invoice_id),
        "resend": safe_reverse("mail:resend-invoice", invoice_id)
        or (safe_reverse("web:invoice-resend", invoice_id) if mail_available() else None),
        "efactura_send": safe_reverse("efactura:send", invoice_id),
        "efactura_answer": safe_reverse("efactura:answer", invoice_id),
        "efactura_correct": safe_reverse("efactura:correct", invoice_id),
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


# --- e-Factura ----------------------------------------------------------------------------------

try:
    from recurent.efactura import models as efactura_models
    from recurent.efactura import selectors as efactura_selectors
except ImportError:  # pragma: no cover - the efactura app is not installed yet
    efactura_models = None  # type: ignore[assignment]
    efactura_selectors = None  # type: ignore[assignment]


def efactura_available() -> bool:
    return efactura_models is not None


def efactura_state_labels() -> dict[str, Any]:
    if not efactura_available():
        return {}
    return {k: v for k, v in efactura_models.EState.choices}


def with_efactura_state(qs: QuerySet[Any]) -> QuerySet[Any]:
    """Annotate ``efactura_state`` (a LEFT JOIN on the one-to-one row: no query per invoice).

    Only the state column is read: the row also holds ANAF's ZIP, which a list must not load.
    """
    if not efactura_available():
        return qs
    return qs.annotate(efactura_state=F("efactura__state"))


def filter_efactura_state(qs: QuerySet[Any], state: str) -> QuerySet[Any]:
    if not efactura_available() or state not in efactura_state_labels():
        return qs
    if state == efactura_models.EState.NOT_SENT:
        # An invoice gets its state row only once it is queued: no row means "not sent".
        return qs.filter(Q(efactura__isnull=True) | Q(efactura__state=state))
    return qs.filter(efactura__state=state)


def efactura_of(invoice_id: int) -> dict[str, Any] | None:
    """The invoice's e-Factura state, ANAF's errors and every exchange with ANAF (two queries)."""
    if not efactura_available():
        return None
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


def efactura_attention(company_id: int, as_of: datetime, limit: int = 10) -> dict[str, Any] | None:
    """The dashboard's e-Factura box: rejections to fix and invoices past the deadline watch."""
    if not efactura_available():
        return None
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
        "rejected_count": _bounded_count(rejected_rows, limit, rejected),
        "late": late_rows,
        "late_count": _bounded_count(late_rows, limit, late),
    }


def _bounded_count(rows: list[Any], limit: int, qs: QuerySet[Any]) -> int:
    """The number of rows, counted in SQL only when the first page is full (usually it is not)."""
    return len(rows) if len(rows) < limit else int(qs.count())


def clients_flagged(company_id: int, client_id: int | None = None) -> list[Any]:
    """Open flags of ANAF's registry re-check (a client became inactive, changed address…)."""
    if not efactura_available():
        return []
    qs = efactura_selectors.clients_flagged(company_id=company_id)
    if client_id is not None:
        qs = qs.filter(client_id=client_id)
    return list(qs[:50])


# --- mail ---------------------------------------------------------------------------------------

try:
    from recurent.mail import selectors as mail_selectors
    from recurent.mail import services as mail_services
except ImportError:  # pragma: no cover - the mail app is not installed yet
    mail_selectors = None  # type: ignore[assignment]
    mail_services = None  # type: ignore[assignment]


def mail_available() -> bool:
    return mail_services is not None and hasattr(mail_services, "outbox_resend")


def mail_failures(company_id: int, limit: int = 10) -> tuple[int, list[Any]] | None:
    if mail_selectors is None or not hasattr(mail_selectors, "failures"):
        return None
    rows = mail_selectors.failures(company_id, limit=limit)
    count = len(rows) if len(rows) < limit else mail_selectors.failed_count(company_id)
    return count, rows


def delivery_of(invoice_id: int) -> Any | None:
    if mail_selectors is None or not hasattr(mail_selectors, "delivery_state"):
        return None
    return mail_selectors.delivery_state(invoice_id)


def invoice_resend(*, invoice: Any, as_of: datetime) -> Any:
    if not mail_available():
        raise ValidationError({"invoice": ["email sending is not installed"]})
    return mail_services.outbox_resend(invoice=invoice, as_of=as_of)


# --- API tokens ---------------------------------------------------------------------------------

try:
    from recurent.api import tokens as api_tokens
    from recurent.api.models import ApiToken
except ImportError:  # pragma: no cover - the API app is not installed yet
    api_tokens = None  # type: ignore[assignment]
    ApiToken = None  # type: ignore[assignment,misc]


def api_tokens_available() -> bool:
    return api_tokens is not None and hasattr(api_tokens, "api_token_create")


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


def api_docs_url() -> str | None:
    return safe_reverse("api:v1:openapi-view")
