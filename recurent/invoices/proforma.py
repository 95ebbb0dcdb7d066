"""Proformas: a draft sent as "Factură proformă", converted to an invoice by hand later.

A proforma is not a fiscal invoice: it has its own series (``ReceiptSeries`` of kind
"proforma", numbered by ``docseries.series_take``), writes no ``Invoice`` row (so no
e-Factura, no VAT report, no balance), and its PDF is kept as sent. It is priced by the same
engine path as the invoice (``oneoff._price``) and drawn by the invoice's own PDF layout
(``documents.proforma.render``: the invoice layout over an unsaved invoice, never written). Converting it
is ``oneoff.invoice_issue_draft`` on the same draft: the invoice, numbered and dated when it
is issued, is linked to the proforma by ``InvoiceDraft.invoice``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from recurent.contracts.models import ContractCharge
from recurent.engine.cycles import BUCHAREST

from .docseries import series_take
from .models import Invoice, InvoiceDraft, InvoiceKind, InvoiceLine, InvoiceOrigin, ReceiptSeries
from .numbering import vat_breakdown
from .oneoff import _price, invoice_issue_draft, line_row
from .services import party_problems
from .snapshots import buyer_snapshot, seller_snapshot


def _error(field: str, message: Any, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _unsaved_invoice(
    d: InvoiceDraft, number: str, as_of: datetime, user: Any
) -> tuple[Invoice, list[InvoiceLine]]:
    """The invoice the proforma announces, in memory only (what the PDF layout draws)."""
    issue_date = as_of.astimezone(BUCHAREST).date()
    if d.issue_date and d.issue_date > issue_date:
        issue_date = d.issue_date  # a proforma may announce a later invoice date
    priced = _price(d, d.company, issue_date)
    t = priced.totals
    buyer = buyer_snapshot(d.client)
    inv = Invoice(
        company=d.company, series=d.series, year=issue_date.year, number=0, full_number=number,
        kind=InvoiceKind.INVOICE, origin=InvoiceOrigin.MANUAL, client=d.client, issued_at=as_of,
        issue_date=issue_date, due_date=priced.due_date, issuer=user,
        issuer_name=(user.get_full_name() or user.get_username())[:150],
        currency=priced.currency, price_currency=priced.price_currency, fx_rate=priced.fx_rate,
        fx_date=priced.fx_date, net_total=t.net, vat_total=t.vat, gross_total=t.gross,
        vat_total_ron=t.vat_ron, vat_breakdown=vat_breakdown(t), seller=seller_snapshot(d.company),
        buyer=buyer, buyer_name=buyer["name"][:200], notes=d.notes,
    )  # fmt: skip
    lines = [line_row(li) for li in priced.lines]
    return inv, lines


@transaction.atomic
def proforma_issue(
    *,
    draft: InvoiceDraft,
    as_of: datetime,
    user: Any,
    render: Callable[[Invoice, list[InvoiceLine]], bytes],
    series: ReceiptSeries | None = None,
) -> InvoiceDraft:
    """Number the draft as a proforma and keep its PDF; the draft is frozen from then on.
    ``render``: the PDF of the unsaved invoice (``documents.proforma.render``; passed in
    because documents sits above invoices)."""
    d = (
        InvoiceDraft.objects.select_for_update()
        .select_related("company", "client")
        .get(pk=draft.pk)
    )
    if d.invoice_id is not None:
        raise _error("draft", _("already invoiced"), "issued")
    if d.proforma_number:
        raise _error("draft", _("the proforma is already issued"), "proforma_issued")
    if d.review_status:  # a contract period under review: approved or skipped in its queue
        raise _error(
            "draft", _("a contract invoice under review: approve it in the review queue"),
            "under_review",
        )  # fmt: skip
    for role, field, snap in (("seller", "company", seller_snapshot(d.company)),
                              ("buyer", "client", buyer_snapshot(d.client))):  # fmt: skip
        if party_problems(snap, role):
            raise _error(field, _("incomplete data for an invoice"), "incomplete")
    s, _year, _number, full_number = series_take(
        company_id=d.company_id, kind="proforma", as_of=as_of, series=series
    )
    inv, lines = _unsaved_invoice(d, full_number, as_of, user)
    d.proforma_series, d.proforma_number, d.proforma_issued_at = s, full_number, as_of
    d.proforma_pdf = render(inv, lines)
    # What a payment must cover for the invoice to be issued (payments.proformas).
    d.proforma_total = inv.gross_total
    d.updated_at = as_of
    d.save()
    return d


@transaction.atomic
def proforma_convert(*, draft: InvoiceDraft, as_of: datetime, user: Any) -> Invoice:
    """The invoice of a proforma, issued now by the one-off path and linked to it.

    A contract period's proforma gives its invoice the contract and the period
    (``oneoff.invoice_issue_draft``) and the one-off charges it priced. Locked before the
    checks: a proforma expiring at the same moment (``proforma_period.proformas_expire``)
    either waits for this invoice or has expired first, never both."""
    d = InvoiceDraft.objects.select_for_update().get(pk=draft.pk)
    if not d.proforma_number:
        raise _error("draft", _("not a proforma"), "not_proforma")
    if d.proforma_expired_at is not None:
        raise _error("draft", _("the proforma has expired"), "proforma_expired")
    invoice = invoice_issue_draft(draft=d, as_of=as_of, user=user)
    if d.contract_id is not None and d.proforma_issued_at is not None:
        # ``invoice IS NULL`` in the WHERE, as in the billing run: a charge is invoiced once.
        ContractCharge.objects.filter(
            contract_id=d.contract_id, invoice__isnull=True, created_at__lte=d.proforma_issued_at
        ).update(invoice=invoice)
    return invoice
