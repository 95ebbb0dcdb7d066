"""Cash receipts (chitanțe): a numbered receipt for a cash payment, and the legal cash limits.

Issued with its payment (``payment_record(..., issue_receipt=True)``) or afterwards
(``receipt_issue``), in its own series (``invoices.ReceiptSeries``) with a gapless number:
the series row is locked, the number allocated by the pure rule shared with invoices
(``engine.numbering.allocate_block``), and written back in the same transaction as the
receipt, so a rollback takes the number back too. Dates never go backwards along a series.

Cash limits (Legea 70/2015 privind întărirea disciplinei financiare privind operațiunile de
încasări și plăți în numerar): art. 3 alin. (1) lit. a) — cash received from a legal entity
(or PFA, II, IF, liberal profession) within a daily ceiling of 5,000 lei per person; art. 4
alin. (1) — from an individual, for goods or services, a daily ceiling of 10,000 lei per
person. Law 296/2023 lowered the first to 1,000 lei, but OUG 98/2023 (MO 1026/2023-11-10)
restored 5,000 lei before it took effect (read in public summaries, not in the Monitorul
Oficial text: confirm before relying on it; RECURENT_CASH_LIMITS overrides). Over the ceiling
the receipt is still issued (the money was received): the user is warned and the receipt
marked, as accountants expect — the fine is 25 % of the excess (OUG 115/2023).
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from recurent.engine.words import amount_in_words_ro
from recurent.invoices.docseries import series_take
from recurent.invoices.models import Receipt, ReceiptSeries
from recurent.invoices.snapshots import buyer_snapshot, seller_snapshot

from .models import Payment, PaymentMethod

# Daily cash ceiling per payer, in lei, by the payer's kind (clients.Client.kind).
CASH_LIMITS: dict[str, Decimal] = {
    "company": Decimal("5000"),
    "individual": Decimal("10000"),
}


def _error(field: str, message: Any, code: str, **params: Any) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code, params=params or None)})


def cash_limit(kind: str) -> Decimal:
    limits = {**CASH_LIMITS, **getattr(settings, "RECURENT_CASH_LIMITS", {})}
    return Decimal(limits.get(kind, limits["company"]))


def cash_received_on(payment: Payment) -> Decimal:
    """Cash in lei from the payment's client on the payment's day, the payment included."""
    total = Payment.objects.filter(
        company_id=payment.company_id, client_id=payment.client_id, date=payment.date,
        method=PaymentMethod.CASH, currency="RON",
    ).aggregate(s=Sum("amount"))["s"]  # fmt: skip
    return total or Decimal(0)


def receipt_series_create(*, company: Any, code: str, width: int = 6, **kw: Any) -> ReceiptSeries:
    code = code.strip().upper()
    if not code or ReceiptSeries.objects.filter(company=company, code=code).exists():
        raise _error("code", _("give a series code not used yet"), "taken")
    return ReceiptSeries.objects.create(company=company, code=code, width=width, **kw)


def _address(snap: dict[str, Any]) -> str:
    return ", ".join(p for p in (snap.get("street"), snap.get("city"), snap.get("county")) if p)


@transaction.atomic
def receipt_issue(
    *, payment: Payment, as_of: datetime, user: Any, series: ReceiptSeries | None = None
) -> Receipt:
    """The receipt of a cash payment in lei; ``series``: the company's first receipt series."""
    if payment.method != PaymentMethod.CASH:
        raise _error("payment", _("a receipt is issued for a cash payment"), "not_cash")
    if payment.currency != "RON":
        raise _error("payment", _("a receipt is issued in lei"), "not_ron")
    if Receipt.objects.filter(payment=payment).exists():
        raise _error("payment", _("this payment already has a receipt"), "has_receipt")
    s, year, number, full_number = series_take(
        company_id=payment.company_id, kind="receipt", as_of=as_of, series=series
    )
    # The payment shows the receipt's number, as one typed in by hand would be.
    Payment.objects.filter(pk=payment.pk).update(receipt_number=full_number)
    payment.receipt_number = full_number
    payer = buyer_snapshot(payment.client)
    paid = [
        {"number": a.invoice.full_number, "amount": str(a.amount)}
        for a in payment.allocations.select_related("invoice").order_by("pk")
    ]
    limit = cash_limit(payer.get("kind", "company"))
    return Receipt.objects.create(
        company_id=payment.company_id, series=s, year=year, number=number,
        full_number=full_number, payment=payment,
        issued_at=as_of, date=payment.date, amount=payment.amount,
        amount_words=amount_in_words_ro(payment.amount), seller=seller_snapshot(payment.company),
        payer=payer, payer_name=payer["name"][:200], paid_invoices=paid, issuer=user,
        issuer_name=(user.get_full_name() or user.get_username())[:150],
        over_cash_limit=cash_received_on(payment) > limit,
    )  # fmt: skip


def _advance(receipt: Receipt) -> str:
    """What a receipt that pays no invoice yet is for: an advance, against the proforma the cash
    was paid on when there is one (payments.proformas)."""
    proforma = receipt.payment.proforma
    return f"avans conform proformei {proforma.proforma_number}" if proforma else "avans"


def receipt_pdf(receipt: Receipt) -> bytes:
    """The one-page PDF (typst, the fonts of the invoice PDF)."""
    import typst

    from recurent.documents.pdf import FONTS, day, money

    template = Path(__file__).parent / "templates" / "payments" / "receipt.typ"
    invoices = ", ".join(
        f"{p['number']} ({money(Decimal(p['amount']))} lei)" for p in receipt.paid_invoices
    )
    data = {
        "number": receipt.full_number, "date": day(receipt.date),
        "seller": {**receipt.seller, "address": _address(receipt.seller)},
        "payer": {**receipt.payer, "address": _address(receipt.payer)},
        "amount": money(receipt.amount), "words": receipt.amount_words,
        "purpose": ("contravaloare factură " + invoices) if invoices else _advance(receipt),
        "issuer": receipt.issuer_name,
    }  # fmt: skip
    return typst.compile(  # type: ignore[no-any-return]
        str(template), root=str(template.parent), font_paths=[str(FONTS)],
        ignore_system_fonts=True, sys_inputs={"data": json.dumps(data, ensure_ascii=False)},
    )  # fmt: skip


def receipt_warning(receipt: Receipt) -> str:
    """The warning a screen shows after a receipt over the cash limit ("" when within it)."""
    if not receipt.over_cash_limit:
        return ""
    from django.utils.translation import gettext

    return gettext(
        "Cash received from %(payer)s on %(date)s is above the legal daily limit of %(limit)s "
        "lei (Legea 70/2015); the amount above it should have been paid by bank transfer."
    ) % {
        "payer": receipt.payer_name,
        "date": receipt.date.strftime("%d.%m.%Y"),
        "limit": f"{cash_limit(receipt.payer.get('kind', 'company')):,.0f}".replace(",", "."),
    }
