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

import re
from dataclasses import dataclass, field
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
from .models import LineStatus, Payment, PaymentMethod, PaymentSource, StatementLine
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
    issue_receipt: bool = False,
) -> Payment:
    """Record a payment of the proforma's client against it (in the proforma's currency) and
    issue the invoice if the proforma is now paid.

    ``issue_receipt`` (cash in lei): the receipt is issued after the invoice, in the same
    transaction, so it names the invoice it pays; a payment that leaves the proforma unpaid gets
    a receipt for an advance "conform proformei PF-N" (docs/proformas.md)."""
    d = _locked(proforma)
    if issue_receipt and method != PaymentMethod.CASH:
        raise field_error(
            "method", gettext_lazy("a receipt is issued for a cash payment"), "not_cash"
        )
    if issue_receipt and d.currency != "RON":
        raise field_error("issue_receipt", gettext_lazy("a receipt is issued in lei"), "not_ron")
    payment = payment_record(
        company=d.company, client=d.client, date=date, amount=amount, currency=d.currency,
        method=method, reference=reference or d.proforma_number, receipt_number=receipt_number,
        as_of=as_of, user=user, source=source, statement_line=statement_line,
        receipt_follows=issue_receipt,
    )  # fmt: skip
    Payment.objects.filter(pk=payment.pk).update(proforma=d)
    payment.proforma = d
    proforma_settle(draft=d, as_of=as_of, user=user)
    if issue_receipt:
        from .receipts import receipt_issue

        receipt_issue(payment=payment, as_of=as_of, user=_receipt_user(user, d))
    return payment


def _receipt_user(user: AbstractBaseUser | None, d: InvoiceDraft) -> Any:
    """Who signs the receipt: the person recording the cash, else the proforma's issuer."""
    if user is not None and user.is_authenticated:
        return user
    return d.contract.issuer if d.contract is not None else d.created_by


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


# ---- bank statements: a payment naming an open proforma's number ---------------------------

PROFORMA_RULE = "proforma"


@dataclass
class ProformaMatcher:
    """The open proformas of one company, read once per statement file: a line whose details
    name one of them ("PF-000012", "PF 12") in its currency pays that proforma. The payments are
    recorded after the file's other payments (``record``), each through
    ``proforma_payment_record``, so a proforma covered by the file becomes an invoice."""

    number_re: re.Pattern[str] | None
    by_ref: dict[tuple[str, int], tuple[int, int, str]]  # (code, number) -> (pk, client, ccy)
    by_iban: dict[str, int] = field(default_factory=dict)  # bank.clients_by_iban
    pending: list[tuple[StatementLine, int]] = field(default_factory=list)

    @classmethod
    def for_company(cls, company_id: int) -> ProformaMatcher:
        from recurent.invoices.proforma_period import open_proformas

        rows = open_proformas(InvoiceDraft.objects.filter(company_id=company_id)).values_list(
            "pk", "client_id", "currency", "proforma_series__code", "proforma_number"
        )
        by_ref: dict[tuple[str, int], tuple[int, int, str]] = {}
        for pk, client_id, currency, code, number in rows:
            digits = number[len(code) :].lstrip("-")
            if code and digits.isdigit():
                by_ref[(code.upper(), int(digits))] = (pk, client_id, currency)
        codes = sorted({c for c, _ in by_ref}, key=len, reverse=True)
        rx = None
        if codes:
            alt = "|".join(re.escape(c) for c in codes)
            # As the invoice numbers are read (bank.Matcher): the code, then the number.
            rx = re.compile(rf"(?<![A-Z0-9])({alt})\s*[-/#.:]?\s*(\d{{1,9}})(?![\d])", re.I)
        from .bank import clients_by_iban

        return cls(rx, by_ref, clients_by_iban(company_id) if rx else {})

    def match(self, line: StatementLine) -> bool:
        """True when ``line`` names exactly one open proforma in its currency (then it is
        set aside for ``record``)."""
        if self.number_re is None or not line.credit or line.reversal:
            return False
        found = set()
        for mt in self.number_re.finditer(line.remittance or ""):
            hit = self.by_ref.get((mt.group(1).upper(), int(mt.group(2))))
            if hit is not None and hit[2] == line.currency:
                found.add((mt.group(1).upper(), int(mt.group(2)), hit[0]))
        if len(found) != 1:
            return False
        code, number, pk = found.pop()
        payer = (
            self.by_iban.get(line.payer_iban.replace(" ", "").upper()) if line.payer_iban else None
        )
        if payer is not None and payer != self.by_ref[(code, number)][1]:
            # A mistyped number is often another client's: the invoice rules then decide.
            return False
        self.pending.append((line, pk))
        line.status = LineStatus.MATCHED
        line.match_rule = PROFORMA_RULE
        line.match_note = f"proforma {code}-{number} named in the payment details"[:300]
        return True

    def record(self, *, as_of: datetime, user: AbstractBaseUser | None) -> int:
        """The set-aside lines as payments of their proformas (the lines are saved by now)."""
        for line, pk in self.pending:
            proforma_payment_record(
                proforma=pk, date=line.booking_date, amount=line.amount, as_of=as_of, user=user,
                reference=(line.remittance or line.bank_reference)[:200],
                source=PaymentSource.STATEMENT, statement_line=line,
            )  # fmt: skip
        return len(self.pending)
