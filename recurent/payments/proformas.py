"""Payments against a proforma: the invoice is issued when they cover it.

A payment recorded against a proforma (by hand on the proforma's page, from a statement line
naming the proforma's number, ...) is written as any payment (``services.payment_record``)
with ``Payment.proforma`` set and nothing allocated. When the proforma's payments (their parts
still unallocated) reach its total, the proforma becomes an invoice through
``invoices.proforma.proforma_convert`` (numbered under the series lock, e-Factura, mail,
balances) and the payments are allocated to it (``services.payment_allocate``), oldest first.

Exactly once: the proforma row is locked first, before the payment is even written, so two
payments arriving together take turns; the second one finds the invoice already issued and
pays what is left on it, the rest staying as the client's credit. An expired proforma (or one
whose total is not yet covered) produces no invoice: its payments wait as credit.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext_lazy

from recurent.common.errors import field_error
from recurent.invoices.models import Invoice, InvoiceDraft
from recurent.invoices.proforma import proforma_convert

from . import selectors
from .models import Payment, PaymentMethod, PaymentSource, StatementLine
from .services import payment_allocate, payment_record


def _locked(proforma: InvoiceDraft | int) -> InvoiceDraft:
    pk = proforma if isinstance(proforma, int) else proforma.pk
    # Locked first: two payments of one proforma serialise here, so one invoice is issued.
    d = (
        InvoiceDraft.objects.select_for_update(of=("self",))
        .select_related("company", "client", "contract", "created_by")
        .get(pk=pk)
    )
    if not d.proforma_number:
        raise field_error("proforma", gettext_lazy("not a proforma"), "not_proforma")
    return d


@transaction.atomic
def proforma_payment_record(
    *,
    proforma: InvoiceDraft | int,
    date: date,
    amount: Any,
    as_of: datetime,
    user: AbstractBaseUser | None,
    method: str = PaymentMethod.BANK_TRANSFER,
    reference: str = "",
    receipt_number: str = "",
    source: str = PaymentSource.MANUAL,
    statement_line: StatementLine | None = None,
) -> Payment:
    """Record a payment of the proforma's client against it (in the proforma's currency) and
    issue the invoice if the proforma is now paid."""
    d = _locked(proforma)
    payment = payment_record(
        company=d.company, client=d.client, date=date, amount=amount, currency=d.currency,
        method=method, reference=reference or d.proforma_number, receipt_number=receipt_number,
        as_of=as_of, user=user, source=source, statement_line=statement_line,
    )  # fmt: skip
    Payment.objects.filter(pk=payment.pk).update(proforma=d)
    payment.proforma = d
    proforma_settle(draft=d, as_of=as_of, user=user)
    return payment


def proforma_settle(
    *, draft: InvoiceDraft, as_of: datetime, user: AbstractBaseUser | None
) -> Invoice | None:
    """The proforma's invoice, issued now if its payments cover it, with those payments
    allocated to it; None while it is not paid (or has expired). The caller holds the
    proforma's row lock (``_locked``)."""
    d = draft
    payments = list(Payment.objects.filter(proforma=d, reversed=False).order_by("pk"))
    left = {p.pk: selectors.unallocated(p) for p in payments}
    invoice = d.invoice
    if invoice is None:
        if d.proforma_expired_at is not None or d.proforma_total is None:
            return None
        if sum(left.values(), Decimal(0)) < d.proforma_total:
            return None
        # Issued under the contract's billing user, as the run would have (a statement import
        # may have no user at all).
        issuer = d.contract.issuer if d.contract is not None else d.created_by
        invoice = proforma_convert(draft=d, as_of=as_of, user=issuer)
    due = invoice.balance.outstanding
    for p in payments:
        take = min(left[p.pk], due)
        if take <= 0:
            continue
        payment_allocate(payment=p, allocations=[(invoice, take)], as_of=as_of, user=user)
        due -= take
    return invoice


def proforma_paid(draft: InvoiceDraft) -> Decimal:
    """What was paid against the proforma (payments not reversed)."""
    total = Decimal(0)
    for amount in Payment.objects.filter(proforma=draft, reversed=False).values_list(
        "amount", flat=True
    ):
        total += amount
    return total
