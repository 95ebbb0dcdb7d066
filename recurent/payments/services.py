"""Writes of the payment side: record, allocate and reverse payments.

Locking: a service that allocates locks the payment row first, then the invoice rows in
primary-key order (``_lock_invoices``), then their stored balances in the same order
(``balances.lock``), and only then reads what is outstanding. Two people (or a person and the
statement import) allocating to the same invoice therefore serialise, and the second one sees the
first one's allocation: an invoice can never be paid beyond its total. Every allocation and
reversal updates the balances in the same transaction (``balances.add_paid``).
On SQLite the IMMEDIATE transaction mode serialises writers the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext_lazy

from recurent.clients.models import Client
from recurent.common import events
from recurent.common.errors import as_validation_error, engine_message, field_error
from recurent.companies.models import Company
from recurent.engine import money
from recurent.invoices.models import Invoice, InvoiceKind, InvoiceStatus

from . import balances, selectors
from .models import (
    Allocation,
    InvoiceBalance,
    Payment,
    PaymentMethod,
    PaymentSource,
    StatementLine,
)

AllocationSpec = tuple[Invoice | int, Any]


def _user(user: AbstractBaseUser | None) -> Any:
    return user if user is not None and user.is_authenticated else None


def _amount(value: Any, field: str) -> Decimal:
    try:
        d = money.to_decimal(value, field)
    except money.MoneyError as e:
        raise as_validation_error(e) from None
    if d != money.round_money(d):
        raise field_error(field, gettext_lazy("at most 2 decimals"), "too_many_decimals")
    if d <= 0:
        raise field_error(field, gettext_lazy("must be greater than zero"), "not_positive")
    return d


def _lock_invoices(ids: Sequence[int]) -> dict[int, Invoice]:
    # Primary-key order: two allocations touching the same invoices never wait on each other in a cycle.
    return {
        inv.pk: inv
        for inv in Invoice.objects.select_for_update()
        .filter(pk__in=sorted(set(ids)))
        .order_by("pk")
    }


def _allocate(
    payment: Payment, allocations: Sequence[AllocationSpec], as_of: datetime
) -> list[Allocation]:
    """Allocate under locks; the caller holds the transaction and the payment row lock."""
    if not allocations:
        return []
    ids: list[int] = []
    amounts: list[Decimal] = []
    for i, (ref, amount) in enumerate(allocations, start=1):
        ids.append(ref if isinstance(ref, int) else ref.pk)
        amounts.append(_amount(amount, f"allocations[{i}].amount"))
    if len(set(ids)) != len(ids):
        raise field_error(
            "allocations",
            gettext_lazy("the same invoice appears twice"),
            "duplicate",
        )
    locked = _lock_invoices(ids)
    locked_balances = balances.lock(ids)
    left = selectors.unallocated(payment)
    if sum(amounts, Decimal(0)) > left:
        raise field_error(
            "allocations",
            gettext_lazy(
                "allocations total %(value)s but only %(left)s %(currency)s of the payment is unallocated"
            ),
            "over_allocated",
            value=sum(amounts),
            left=left,
            currency=payment.currency,
        )
    errors: dict[str, list[Any]] = {}
    rows: list[Allocation] = []
    newly_paid: list[Invoice] = []
    for i, (pk, amount) in enumerate(zip(ids, amounts, strict=True), start=1):
        key = f"allocations[{i}]"
        balance = locked_balances.get(pk)
        due = balance.outstanding if balance is not None else Decimal(0)
        refused = _allocation_refused(locked.get(pk), payment, amount, due)
        if refused:
            errors[f"{key}.{refused[0]}"] = [refused[1]]
            continue
        inv = locked[pk]
        rows.append(Allocation(payment=payment, invoice=inv, amount=amount, created_at=as_of))
        if amount == due:
            newly_paid.append(inv)
    if errors:
        raise ValidationError(errors)
    Allocation.objects.bulk_create(rows)
    balances.add_paid(locked_balances, {a.invoice_id: a.amount for a in rows})
    for inv in newly_paid:
        _emit_paid(inv, payment)
    return rows


def _allocation_refused(
    inv: Invoice | None, payment: Payment, amount: Decimal, due: Decimal
) -> tuple[str, ValidationError] | None:
    """(field, reason) when ``amount`` of ``payment`` cannot go to ``inv`` with ``due`` left."""
    if inv is None or inv.company_id != payment.company_id or inv.client_id != payment.client_id:
        return "invoice", ValidationError(
            gettext_lazy("not an invoice of this client"), code="not_client_invoice"
        )
    if inv.kind != InvoiceKind.INVOICE or inv.status == InvoiceStatus.CANCELLED:
        return "invoice", ValidationError(
            gettext_lazy("%(number)s is cancelled or a credit note: nothing to collect"),
            code="nothing_to_collect",
            params={"number": inv.full_number},
        )
    if inv.currency != payment.currency:
        return "invoice", ValidationError(
            gettext_lazy("%(number)s is in %(a)s, the payment in %(b)s"),
            code="currency_mismatch",
            params={"number": inv.full_number, "a": inv.currency, "b": payment.currency},
        )
    if amount > due:
        return "amount", ValidationError(
            gettext_lazy(
                "%(amount)s is more than the %(due)s %(currency)s outstanding on %(number)s"
            ),
            code="more_than_outstanding",
            params={
                "amount": amount,
                "due": due,
                "currency": inv.currency,
                "number": inv.full_number,
            },
        )
    return None


Event = tuple[int, str, dict[str, Any]]


def _paid_event(inv: Invoice, payment: Payment) -> Event:
    return (
        inv.company_id,
        "invoice.paid",
        {
            "invoice_id": inv.pk,
            "full_number": inv.full_number,
            "client_id": inv.client_id,
            "payment_id": payment.pk,
            "paid_on": payment.date.isoformat(),
        },
    )


def _emit_paid(inv: Invoice, payment: Payment) -> None:
    events.emit(*_paid_event(inv, payment))


def _emit_received(payment: Payment, invoice_ids: list[int]) -> None:
    events.emit(*_received_event(payment, invoice_ids))


def _received_event(payment: Payment, invoice_ids: list[int]) -> Event:
    return (
        payment.company_id,
        "payment.received",
        {
            "payment_id": payment.pk,
            "client_id": payment.client_id,
            "amount": str(payment.amount),
            "currency": payment.currency,
            "date": payment.date.isoformat(),
            "method": payment.method,
            "invoice_ids": invoice_ids,
        },
    )


def _payment_errors(
    *, company: Company, client: Client, method: str, receipt_number: str, currency: str,
    date: date, reference: str, as_of: datetime,
) -> tuple[dict[str, list[str]], str]:  # fmt: skip
    """What is wrong with a payment before it is written, and its currency checked."""
    errors: dict[str, list[Any]] = {}
    if client.company_id != company.pk:
        errors["client"] = [ValidationError(gettext_lazy("unknown client"), code="unknown_client")]
    if method not in PaymentMethod.values:
        errors["method"] = [
            ValidationError(
                gettext_lazy("%(method)s is not one of %(value)s"),
                code="invalid_choice",
                params={"method": repr(method), "value": ", ".join(PaymentMethod.values)},
            )
        ]
    if method == PaymentMethod.CASH and not receipt_number.strip():
        errors["receipt_number"] = [
            ValidationError(
                gettext_lazy("a cash payment needs the receipt (chitanță) number"),
                code="receipt_number_required",
            )
        ]
    try:
        currency = money.check_currency(currency)
    except money.MoneyError as e:
        errors["currency"] = [engine_message(e)]
    if date > selectors.day_of(as_of):
        errors["date"] = [
            ValidationError(
                gettext_lazy("a payment cannot be dated in the future"),
                code="date_in_future",
            )
        ]
    if len(reference) > 200:
        errors["reference"] = [
            ValidationError(gettext_lazy("at most 200 characters"), code="max_length")
        ]
    return errors, currency


@transaction.atomic
def payment_record(
    *,
    company: Company,
    client: Client,
    date: date,
    amount: Any,
    currency: str = "RON",
    method: str = PaymentMethod.BANK_TRANSFER,
    reference: str = "",
    receipt_number: str = "",
    allocations: Sequence[AllocationSpec] = (),
    as_of: datetime,
    user: AbstractBaseUser | None,
    source: str = PaymentSource.MANUAL,
    statement_line: StatementLine | None = None,
    issue_receipt: bool = False,
    receipt_follows: bool = False,
) -> Payment:
    """Record money received from a client and apply it to invoices; the rest stays as credit.
    ``issue_receipt``: a cash payment gets its receipt (payments.receipts) in this transaction;
    ``receipt_follows``: the caller issues it later in the transaction (payments.proformas)."""
    errors, currency = _payment_errors(
        company=company, client=client, method=method,
        # A receipt issued here gives the number (payments.receipts); otherwise it is typed in.
        receipt_number=receipt_number or ("issued" if issue_receipt or receipt_follows else ""),
        currency=currency, date=date, reference=reference, as_of=as_of,
    )  # fmt: skip
    if errors:
        raise ValidationError(errors)
    payment = Payment.objects.create(
        company=company, client=client, date=date, amount=_amount(amount, "amount"),
        currency=currency, method=method, reference=reference.strip(),
        receipt_number=receipt_number.strip(), source=source, statement_line=statement_line,
        recorded_by=_user(user), recorded_at=as_of,
    )  # fmt: skip
    # Re-read under a lock so that concurrent allocations of this payment serialise too.
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    _allocate(payment, allocations, as_of)
    _emit_received(payment, [inv if isinstance(inv, int) else inv.pk for inv, _ in allocations])
    if issue_receipt:
        from .receipts import receipt_issue

        receipt_issue(payment=payment, as_of=as_of, user=_user(user))
    return payment


def _add_paid_many(locked: dict[int, InvoiceBalance], amounts: dict[int, Decimal]) -> None:
    """``balances.add_paid`` for thousands of rows: the figures decided by the same
    ``balances.settle``, written with one prepared UPDATE run for every row (executemany)
    instead of the CASE-per-row statement ``bulk_update`` builds (seconds at 5,000 rows)."""
    rows = []
    for pk, amount in amounts.items():
        b = locked[pk]
        b.paid = money.round_money(b.paid + amount)
        kind, status = balances._kind_status_of(b.state)
        b.outstanding, b.state = balances.settle(
            kind=kind, status=status, total=b.total, paid=b.paid, credited=b.credited
        )
        rows.append((b.paid, b.outstanding, str(b.state), pk))
    if not rows:
        return
    qn = connection.ops.quote_name
    sql = (
        f"UPDATE {qn(InvoiceBalance._meta.db_table)} SET {qn('paid')} = %s, "  # noqa: S608
        f"{qn('outstanding')} = %s, {qn('state')} = %s WHERE {qn('invoice_id')} = %s"
    )
    with connection.cursor() as cur:
        cur.executemany(sql, rows)


@dataclass(frozen=True)
class PaymentIn:
    """One payment of ``payments_record_many``; allocations are (invoice id, amount)."""

    client: Client
    date: date
    amount: Decimal
    currency: str
    reference: str
    allocations: tuple[tuple[int, Decimal], ...]
    statement_line: StatementLine | None = None
    method: str = PaymentMethod.BANK_TRANSFER


@transaction.atomic
def payments_record_many(
    *,
    company: Company,
    payments: Sequence[PaymentIn],
    as_of: datetime,
    user: AbstractBaseUser | None,
    source: str = PaymentSource.STATEMENT,
) -> list[Payment]:
    """``payment_record`` for many payments at once (a bank statement): the same checks, locks
    and events, but every invoice and balance locked once (primary-key order) and the payments and
    allocations written with one INSERT each. All or nothing: any refusal raises
    ``ValidationError`` naming ``payments[i].field``."""
    errors: dict[str, list[Any]] = {}
    rows: list[Payment] = []
    for i, p in enumerate(payments):
        errs, currency = _payment_errors(
            company=company, client=p.client, method=p.method, receipt_number="",
            currency=p.currency, date=p.date, reference=p.reference, as_of=as_of,
        )  # fmt: skip
        try:
            amount = _amount(p.amount, "amount")
        except ValidationError as e:
            errs.update(e.message_dict)
            amount = Decimal(0)
        if sum((a for _, a in p.allocations), Decimal(0)) > amount:
            errs["allocations"] = ["the allocations are more than the payment"]
        errors.update({f"payments[{i}].{k}": v for k, v in errs.items()})
        rows.append(
            Payment(
                company=company,
                client=p.client,
                date=p.date,
                amount=amount,
                currency=currency,
                method=p.method,
                reference=p.reference.strip(),
                source=source,
                statement_line=p.statement_line,
                recorded_by=_user(user),
                recorded_at=as_of,
            )  # fmt: skip
        )
    if errors:
        raise ValidationError(errors)
    Payment.objects.bulk_create(rows)
    ids = [pk for p in payments for pk, _ in p.allocations]
    locked = _lock_invoices(ids)
    locked_balances = balances.lock(ids)
    taken: dict[int, Decimal] = {}
    allocations: list[Allocation] = []
    paid: list[tuple[Invoice, Payment]] = []
    for i, (payment, p) in enumerate(zip(rows, payments, strict=True)):
        for j, (pk, amount) in enumerate(p.allocations, start=1):
            balance = locked_balances.get(pk)
            due = (balance.outstanding if balance is not None else Decimal(0)) - taken.get(pk, 0)
            refused = _allocation_refused(locked.get(pk), payment, amount, due)
            if refused:
                errors[f"payments[{i}].allocations[{j}].{refused[0]}"] = [refused[1]]
                continue
            taken[pk] = taken.get(pk, Decimal(0)) + amount
            allocations.append(
                Allocation(payment=payment, invoice_id=pk, amount=amount, created_at=as_of)
            )
            if amount == due:
                paid.append((locked[pk], payment))
    if errors:
        raise ValidationError(errors)
    Allocation.objects.bulk_create(allocations, batch_size=1000)
    _add_paid_many(locked_balances, taken)
    # The same events as payment_record's, given to the listeners as one batch.
    events.emit_many(
        [_paid_event(inv, payment) for inv, payment in paid]
        + [
            _received_event(payment, [pk for pk, _ in p.allocations])
            for payment, p in zip(rows, payments, strict=True)
        ]
    )
    return rows


@transaction.atomic
def payment_allocate(
    *,
    payment: Payment,
    allocations: Sequence[AllocationSpec],
    as_of: datetime,
    user: AbstractBaseUser | None,
) -> list[Allocation]:
    """Apply the unallocated part of an earlier payment (client credit) to invoices."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.reversed:
        raise field_error("payment", gettext_lazy("this payment was reversed"), "reversed")
    if not allocations:
        raise field_error("allocations", gettext_lazy("choose at least one invoice"), "required")
    return _allocate(payment, allocations, as_of)


@transaction.atomic
def payment_reverse(
    *, payment: Payment, reason: str, as_of: datetime, user: AbstractBaseUser | None
) -> Payment:
    """Undo a payment (bank return, mistake): it stays in the books, its allocations stop counting."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.reversed:
        raise field_error(
            "payment", gettext_lazy("this payment is already reversed"), "already_reversed"
        )
    reason = (reason or "").strip()
    if not reason:
        raise field_error("reason", gettext_lazy("say why the payment is reversed"), "required")
    # The invoices its allocations paid are open again: their balances give the money back,
    # locked in the same order as when allocating.
    amounts: dict[int, Decimal] = {}
    for invoice_id, amount in payment.allocations.values_list("invoice_id", "amount"):
        amounts[invoice_id] = amounts.get(invoice_id, Decimal(0)) - amount
    _lock_invoices(list(amounts))
    balances.add_paid(balances.lock(amounts), amounts)
    payment.reversed = True
    payment.reversed_reason = reason[:1000]
    payment.reversed_at = as_of
    payment.reversed_by = _user(user)
    payment.save(
        update_fields=["reversed", "reversed_reason", "reversed_at", "reversed_by", "updated_at"]
    )
    return payment


def suggest_allocations(
    *, client: Client, amount: Decimal, currency: str, as_of: date | datetime
) -> list[tuple[Invoice, Decimal]]:
    """Oldest-due-first split of ``amount`` over the client's open invoices (what a form proposes)."""
    out = []
    left = amount
    qs = selectors.open_invoices(Invoice.objects.filter(client=client, currency=currency), as_of)
    for inv in qs:
        if left <= 0:
            break
        take = min(left, money.round_money(inv.outstanding_amount))
        out.append((inv, take))
        left -= take
    return out
