"""The stored balance of each invoice (``InvoiceBalance``): one definition, its writes and its check.

Outstanding = gross total - credit notes issued against it (their size) - allocations of payments
that were not reversed, in the invoice's currency, and nothing once the invoice is cancelled.

Who writes, always inside the transaction that changes the figures:

- ``on_issued`` (an AFTER_ISSUE hook): a row for every new invoice and credit note, in one
  multi-row INSERT per batch; a credit note then refreshes the invoice it credits;
- ``payments.services``: allocating adds to ``paid``, reversing a payment takes it back (a
  direct-debit return reverses its payment, so it goes the same way).

Locking: the services lock the invoice rows in primary-key order, then the balance rows in the
same order (``lock``), and only then read them; a storno locks its invoice before issuing, so
its hook finds the invoice already locked. Nobody waits on anybody in a cycle.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Sum
from django.db.models.functions import Abs

from recurent.common import bulk
from recurent.engine.money import round_money
from recurent.invoices.models import Invoice, InvoiceKind, InvoiceStatus

from .models import Allocation, BalanceState, InvoiceBalance

ZERO = Decimal("0.00")
COLUMNS = ("invoice_id", "company_id", "client_id", "currency", "total", "credited", "paid",
           "outstanding", "due_date", "state")  # fmt: skip


def settle(
    *, kind: str, status: str, total: Decimal, paid: Decimal, credited: Decimal
) -> tuple[Decimal, str]:
    """(outstanding, state) of a document from its figures: the one place that decides them."""
    if kind == InvoiceKind.CREDIT_NOTE:
        return ZERO, BalanceState.CREDIT_NOTE
    if status == InvoiceStatus.CANCELLED:
        return ZERO, BalanceState.CANCELLED
    left = round_money(total - paid - credited)
    if left <= 0:
        return ZERO, BalanceState.PAID
    return left, BalanceState.OPEN


def _kind_status_of(state: str) -> tuple[str, str]:
    # A balance's own state says all that settle() needs of its invoice between issue and storno.
    if state == BalanceState.CREDIT_NOTE:
        return InvoiceKind.CREDIT_NOTE, InvoiceStatus.ISSUED
    if state == BalanceState.CANCELLED:
        return InvoiceKind.INVOICE, InvoiceStatus.CANCELLED
    return InvoiceKind.INVOICE, InvoiceStatus.ISSUED


# --- writes -------------------------------------------------------------------------------------


def on_issued(invoices: list[Invoice]) -> None:
    """AFTER_ISSUE hook: the new documents' balances, then those of the invoices they credit.

    The billing engine writes thousands of invoices a second: one INSERT for the whole batch,
    built by hand (``bulk_create`` compiles every value through the ORM), no read.
    """
    if not invoices:
        return
    ops = connection.ops
    rows = []
    for inv in invoices:
        gross = Decimal(inv.gross_total)
        total = abs(gross) if inv.kind == InvoiceKind.CREDIT_NOTE else gross
        left, state = settle(
            kind=inv.kind, status=inv.status, total=total, paid=ZERO, credited=ZERO
        )
        rows.append(
            (
                inv.pk, inv.company_id, inv.client_id, inv.currency,
                ops.adapt_decimalfield_value(total, 16, 2), ops.adapt_decimalfield_value(ZERO, 16, 2),
                ops.adapt_decimalfield_value(ZERO, 16, 2), ops.adapt_decimalfield_value(left, 16, 2),
                ops.adapt_datefield_value(inv.due_date), str(state),
            )
        )  # fmt: skip
    bulk.insert_rows(InvoiceBalance, COLUMNS, rows)
    credited = sorted(
        {
            inv.credited_invoice_id
            for inv in invoices
            if inv.kind == InvoiceKind.CREDIT_NOTE and inv.credited_invoice_id
        }
    )
    if credited:
        refresh(credited)


def lock(ids: Iterable[int]) -> dict[int, InvoiceBalance]:
    """Lock balance rows in primary-key order (after the invoice rows, see the module's note)."""
    return {
        b.pk: b
        for b in InvoiceBalance.objects.select_for_update()
        .filter(pk__in=sorted(set(ids)))
        .order_by("pk")
    }


def add_paid(locked: dict[int, InvoiceBalance], amounts: dict[int, Decimal]) -> None:
    """Add (or, negative, take back) allocated amounts to locked balances and save them."""
    changed = []
    for pk, amount in amounts.items():
        b = locked[pk]
        b.paid = round_money(b.paid + amount)
        kind, status = _kind_status_of(b.state)
        b.outstanding, b.state = settle(
            kind=kind, status=status, total=b.total, paid=b.paid, credited=b.credited
        )
        changed.append(b)
    InvoiceBalance.objects.bulk_update(changed, ["paid", "outstanding", "state"])


def refresh(ids: Sequence[int]) -> None:
    """Recompute locked balances from the allocations and credit notes (after a storno)."""
    locked = lock(ids)
    expected = recomputed(list(locked))
    changed = []
    for pk, b in locked.items():
        e = expected[pk]
        if (b.paid, b.credited, b.outstanding, b.state) != e.figures():
            b.paid, b.credited, b.outstanding, b.state = e.figures()
            changed.append(b)
    if changed:
        InvoiceBalance.objects.bulk_update(changed, ["paid", "credited", "outstanding", "state"])


# --- the check ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    invoice_id: int
    total: Decimal
    paid: Decimal
    credited: Decimal
    outstanding: Decimal
    state: str
    due_date: Any
    currency: str

    def figures(self) -> tuple[Decimal, Decimal, Decimal, str]:
        return self.paid, self.credited, self.outstanding, self.state


def recomputed(ids: Sequence[int]) -> dict[int, Expected]:
    """Balances as they follow from the source rows, for the given invoices. Three queries."""
    paid: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for pk, s in (
        Allocation.objects.filter(invoice_id__in=ids, payment__reversed=False)
        .order_by()
        .values_list("invoice_id")
        .annotate(s=Sum("amount"))
    ):
        paid[pk] = round_money(s or ZERO)
    credited: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for pk, s in (
        Invoice.objects.filter(credited_invoice_id__in=ids, kind=InvoiceKind.CREDIT_NOTE)
        .order_by()
        .values_list("credited_invoice_id")
        .annotate(s=Sum(Abs("gross_total")))
    ):
        credited[pk] = round_money(s or ZERO)
    out = {}
    fields = ("pk", "kind", "status", "gross_total", "due_date", "currency")
    for pk, kind, status, gross, due, currency in Invoice.objects.filter(pk__in=ids).values_list(
        *fields
    ):
        total = abs(gross) if kind == InvoiceKind.CREDIT_NOTE else gross
        left, state = settle(
            kind=kind, status=status, total=total, paid=paid[pk], credited=credited[pk]
        )
        out[pk] = Expected(pk, total, paid[pk], credited[pk], left, state, due, currency)
    return out


@dataclass(frozen=True)
class Mismatch:
    invoice_id: int
    stored: tuple[Any, ...] | None  # None: the invoice has no balance row
    expected: tuple[Any, ...]


def mismatches(*, company_id: int | None = None, chunk: int = 2000) -> list[Mismatch]:
    """Every invoice whose stored balance differs from the one recomputed (empty: all agree)."""
    qs = Invoice.objects.order_by("pk")
    if company_id is not None:
        qs = qs.filter(company_id=company_id)
    ids = list(qs.values_list("pk", flat=True))
    out: list[Mismatch] = []
    names = ("total", "paid", "credited", "outstanding", "state", "due_date", "currency")
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        expected = recomputed(part)
        stored = {
            row[0]: tuple(row[1:])
            for row in InvoiceBalance.objects.filter(pk__in=part).values_list("pk", *names)
        }
        for pk in part:
            e = expected[pk]
            want = (e.total, e.paid, e.credited, e.outstanding, e.state, e.due_date, e.currency)
            got = stored.get(pk)
            if got is None or tuple(got) != want:
                out.append(Mismatch(pk, got, want))
    return out
