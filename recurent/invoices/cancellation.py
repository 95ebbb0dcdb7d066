"""Cancelling a contract in the middle of a period it has already paid for (issue 19).

``contracts.services.contract_cancel`` stops the billing; this adds what the company's proration
policy promises for a change in the middle of a period (``Company.proration_policy``, the
same rule as ``contracts.proration``): under "immediately" a contract billed in advance and
cancelled now gives back the days it will not use, as a credit note of the invoice of the
current period (storno, same numbering, limits, e-Factura and hooks as any storno), in the
same transaction as the cancellation: both happen or neither.

The days: the cancellation day and the rest of the period are unused (the day of a change
counts as new, engine.proration), calendar days in Bucharest. Each recurring line of that
period is credited by the share ``quantity x unused / whole``, a quantity with the invoice
line's 4 decimals, priced at the line's own unit price and rounded once by the storno, which
also gives back the same share of the line's discounts. The credit note therefore reads like
any partial storno ("Abonament, -0.3226 x 100.00 = -32.26") and its amounts are exactly
quantity x price, as ANAF's checks want; against the money share (amount x n / N) the
quantity's fourth decimal can move the line by at most 0.00005 x the unit price.

Not credited, on purpose (docs/proration.md):
- one-off charges, prorated charges and variable (usage) lines on that invoice: they are not a
  price for the period's days;
- a contract billed in arrears: the current period has not been invoiced, there is nothing to
  give back (the days served before the cancellation are not invoiced either: cancel at the
  end of the period to invoice them);
- a period not invoiced yet, or an invoice already cancelled by a storno.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext

from recurent.contracts.models import Contract, ContractLine, ContractStatus
from recurent.contracts.proration import period_of_day
from recurent.contracts.services import contract_audit, contract_cancel
from recurent.engine import proration
from recurent.engine.cycles import BUCHAREST, Period

from .models import Invoice, InvoiceKind, InvoiceLine, InvoicePeriod, InvoiceStatus
from .storno import credited_quantities, invoice_storno

QUANTITY = Decimal("0.0001")  # InvoiceLine.quantity's decimals


def contract_cancel_crediting(
    *,
    contract: Contract,
    user: Any,
    as_of: datetime,
    at_period_end: bool = False,
    credit_unused: bool | None = None,
    actor: str = "",
) -> tuple[Contract, Invoice | None]:
    """Cancel ``contract`` (``contract_cancel``) and, when it is cancelled now, credit the unused
    days of the period already invoiced. ``credit_unused``: None follows the company's proration
    policy, True/False decide for this cancellation. Returns the contract and the credit note
    (None when nothing was credited)."""
    with transaction.atomic():
        before = Contract.objects.select_for_update().select_related("company").get(pk=contract.pk)
        wanted = (
            credit_unused
            if credit_unused is not None
            else before.company.proration_policy == proration.Policy.IMMEDIATELY
        )
        contract = contract_cancel(
            contract=before, user=user, as_of=as_of, at_period_end=at_period_end, actor=actor
        )
        if at_period_end or not wanted or before.status != ContractStatus.ACTIVE:
            return contract, None
        credit = _credit_unused(before, user or before.issuer, as_of)
        if credit is not None:
            contract_audit(
                contract, user, "unused_days_credited",
                {"credit_note": credit.full_number, "credit_note_id": credit.pk,
                 "amount": str(credit.gross_total)},
                actor,
            )  # fmt: skip
        return contract, credit


def _credit_unused(contract: Contract, user: Any, as_of: datetime) -> Invoice | None:
    if contract.in_arrears:
        return None
    day = as_of.astimezone(BUCHAREST).date()
    period = period_of_day(contract.schedule(), day)
    if period is None or period.index >= contract.next_index:
        return None  # outside the schedule, or the current period is not invoiced yet
    row = (
        InvoicePeriod.objects.filter(contract=contract, period_start=period.start)
        .select_related("invoice")
        .first()
    )
    if row is None:
        return None
    invoice = row.invoice
    if invoice.kind != InvoiceKind.INVOICE or invoice.status == InvoiceStatus.CANCELLED:
        return None
    unused = proration.days_between(day, period.end)
    whole = proration.days_between(period.start, period.end)
    done = credited_quantities(invoice)
    lines = []
    for li in _recurring_lines(invoice, contract, period):
        share = (li.quantity * unused / whole).quantize(QUANTITY, rounding=ROUND_HALF_UP)
        share = min(share, li.quantity - done.get(li.pk, Decimal(0)))
        if share > 0:
            lines.append((li, share))
    if not lines:
        return None
    return invoice_storno(
        invoice=invoice, lines=lines, as_of=as_of, user=user,
        notes=_note(contract, day, period, unused, whole),
    )  # fmt: skip


def _recurring_lines(invoice: Invoice, contract: Contract, period: Period) -> list[InvoiceLine]:
    """The invoice's lines that price the contract's products for ``period`` (a grouped
    invoice's other contracts, one-off and prorated charges and usage lines left out)."""
    codes = {
        li.product.code
        for li in ContractLine.objects.filter(contract=contract, variable=False).select_related(
            "product"
        )
        if li.applies_to(period.index)
    }
    return [
        li
        for li in invoice.lines.all()
        if li.quantity > 0
        and li.product_code in codes
        and li.contract_id in (None, contract.pk)
        and li.period_start in (None, period.start)
    ]


def _day(d: date) -> str:
    return d.strftime("%d.%m.%Y")


def _note(contract: Contract, day: date, period: Period, unused: int, whole: int) -> str:
    # Printed on the credit note: in the invoices' language.
    with translation.override(settings.LANGUAGE_CODE):
        return gettext(
            "Contract %(number)s cancelled on %(day)s: the unused days %(first)s-%(last)s "
            "(%(days)s/%(whole)s days) are credited."
        ) % {"number": contract.number, "day": _day(day), "first": _day(day),
             "last": _day(period.end), "days": unused, "whole": whole}  # fmt: skip
