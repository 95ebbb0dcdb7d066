"""Reads of the payment side: what is outstanding, each invoice's payment state, receivables.

The payment state is derived, never stored (issued invoices are immutable):

- ``credit_note``: the document is itself a credit note (nothing to collect);
- ``cancelled``: the invoice was cancelled by a storno (``Invoice.status == "cancelled"``);
- ``paid``: nothing outstanding;
- ``collection_requested``: in a direct-debit file sent to the bank, not yet confirmed;
- ``overdue``: past its due date and not fully paid;
- ``partially_paid``: something was paid, something is left, not yet due;
- ``unpaid``: nothing paid, not yet due.

Outstanding = gross total - credit notes issued against it - allocations of payments that were not
reversed. Amounts are in the invoice's currency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Abs, Coalesce, TruncMonth

from recurent.clients.models import Client
from recurent.engine.cycles import BUCHAREST
from recurent.engine.money import round_money
from recurent.invoices.models import Invoice, InvoiceKind, InvoiceStatus

from .models import Allocation, CollectionItem, CollectionStatus, Payment

ZERO = Decimal("0.00")
# Sums of decimals on SQLite may carry float noise; anything under half a cent is nothing.
EPSILON = Decimal("0.005")
MONEY = DecimalField(max_digits=18, decimal_places=2)


class State:
    UNPAID = "unpaid"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERDUE = "overdue"
    CANCELLED = "cancelled"
    COLLECTION_REQUESTED = "collection_requested"
    CREDIT_NOTE = "credit_note"

    LABELS = {
        "unpaid": "neîncasată",
        "partially_paid": "încasată parțial",
        "paid": "încasată",
        "overdue": "scadentă depășită",
        "cancelled": "stornată",
        "collection_requested": "debitare directă cerută",
        "credit_note": "notă de credit",
    }


def day_of(as_of: date | datetime) -> date:
    """The Bucharest calendar day of an instant (a date is taken as is)."""
    if isinstance(as_of, datetime):
        return as_of.astimezone(BUCHAREST).date()
    return as_of


def _paid_sq() -> Coalesce:
    sq = (
        Allocation.objects.filter(invoice=OuterRef("pk"), payment__reversed=False)
        .order_by()
        .values("invoice")
        .annotate(s=Sum("amount"))
        .values("s")
    )
    return Coalesce(Subquery(sq, output_field=MONEY), Value(ZERO), output_field=MONEY)


def _credited_sq() -> Coalesce:
    # Credit notes may be stored negative (storno) or positive: their size is what counts.
    sq = (
        Invoice.objects.filter(credited_invoice=OuterRef("pk"), kind=InvoiceKind.CREDIT_NOTE)
        .order_by()
        .values("credited_invoice")
        .annotate(s=Sum(Abs("gross_total")))
        .values("s")
    )
    return Coalesce(Subquery(sq, output_field=MONEY), Value(ZERO), output_field=MONEY)


def with_payment_state(qs: QuerySet[Invoice], as_of: date | datetime) -> Any:
    """Annotate ``paid_amount``, ``credited_amount``, ``outstanding_amount``, ``payment_state``.

    One query for any number of invoices (correlated subqueries, no per-row work).
    """
    today = day_of(as_of)
    requested = CollectionItem.objects.filter(
        invoice=OuterRef("pk"), status=CollectionStatus.REQUESTED
    )
    return (
        qs.annotate(
            paid_amount=_paid_sq(),
            credited_amount=_credited_sq(),
            collection_requested=Exists(requested, output_field=BooleanField()),
        )
        .annotate(
            outstanding_raw=ExpressionWrapper(
                F("gross_total") - F("paid_amount") - F("credited_amount"), output_field=MONEY
            ),
        )
        .annotate(
            outstanding_amount=Case(
                When(
                    Q(kind=InvoiceKind.CREDIT_NOTE) | Q(status=InvoiceStatus.CANCELLED),
                    then=Value(ZERO),
                ),
                When(outstanding_raw__lt=EPSILON, then=Value(ZERO)),
                default=F("outstanding_raw"),
                output_field=MONEY,
            ),
            payment_state=Case(
                When(kind=InvoiceKind.CREDIT_NOTE, then=Value(State.CREDIT_NOTE)),
                When(status=InvoiceStatus.CANCELLED, then=Value(State.CANCELLED)),
                When(outstanding_raw__lt=EPSILON, then=Value(State.PAID)),
                When(collection_requested=True, then=Value(State.COLLECTION_REQUESTED)),
                When(due_date__lt=today, then=Value(State.OVERDUE)),
                When(paid_amount__gte=EPSILON, then=Value(State.PARTIALLY_PAID)),
                default=Value(State.UNPAID),
            ),
        )
    )


def open_invoices(qs: QuerySet[Invoice], as_of: date | datetime) -> Any:
    """Invoices with something left to collect, oldest due first."""
    return (
        with_payment_state(qs.filter(kind=InvoiceKind.INVOICE), as_of)
        .exclude(status=InvoiceStatus.CANCELLED)
        .filter(outstanding_raw__gte=EPSILON)
        .order_by("due_date", "pk")
    )


def paid_amount(invoice: Invoice) -> Decimal:
    s = Allocation.objects.filter(invoice=invoice, payment__reversed=False).aggregate(
        s=Sum("amount")
    )["s"]
    return round_money(s or ZERO)


def credited_amount(invoice: Invoice) -> Decimal:
    s = Invoice.objects.filter(credited_invoice=invoice, kind=InvoiceKind.CREDIT_NOTE).aggregate(
        s=Sum(Abs("gross_total"))
    )["s"]
    return round_money(s or ZERO)


def outstanding(invoice: Invoice) -> Decimal:
    """What is left to collect on the invoice, in its currency (never negative)."""
    if invoice.kind == InvoiceKind.CREDIT_NOTE or invoice.status == InvoiceStatus.CANCELLED:
        return ZERO
    left = invoice.gross_total - paid_amount(invoice) - credited_amount(invoice)
    return left if left > 0 else ZERO


def payment_state(invoice: Invoice, as_of: date | datetime) -> str:
    return (
        with_payment_state(Invoice.objects.filter(pk=invoice.pk), as_of)
        .values_list("payment_state", flat=True)
        .get()
    )


def payment_states(invoice_ids: Iterable[int], as_of: date | datetime) -> dict[int, str]:
    """States of many invoices in one query."""
    rows = with_payment_state(Invoice.objects.filter(pk__in=list(invoice_ids)), as_of).values_list(
        "pk", "payment_state"
    )
    return dict(rows)


def unallocated(payment: Payment) -> Decimal:
    if payment.reversed:
        return ZERO
    s = payment.allocations.aggregate(s=Sum("amount"))["s"] or ZERO
    return round_money(payment.amount - s)


def payments_with_credit(client: Client, currency: str | None = None) -> QuerySet[Payment]:
    """The client's payments that still have an unallocated part (offered when allocating)."""
    allocated = (
        Allocation.objects.filter(payment=OuterRef("pk"))
        .order_by()
        .values("payment")
        .annotate(s=Sum("amount"))
        .values("s")
    )
    qs = Payment.objects.filter(client=client, reversed=False)
    if currency:
        qs = qs.filter(currency=currency)
    return (
        qs.annotate(
            allocated=Coalesce(
                Subquery(allocated, output_field=MONEY), Value(ZERO), output_field=MONEY
            )
        )
        .annotate(left=ExpressionWrapper(F("amount") - F("allocated"), output_field=MONEY))
        .filter(left__gte=EPSILON)
        .order_by("date", "pk")
    )


def client_credits(client: Client) -> dict[str, Decimal]:
    """Unallocated money of the client per currency (payments not reversed minus their allocations)."""
    paid: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for cur, s in (
        Payment.objects.filter(client=client, reversed=False)
        .order_by()
        .values_list("currency")
        .annotate(s=Sum("amount"))
    ):
        paid[cur] += s or ZERO
    for cur, s in (
        Allocation.objects.filter(payment__client=client, payment__reversed=False)
        .order_by()
        .values_list("payment__currency")
        .annotate(s=Sum("amount"))
    ):
        paid[cur] -= s or ZERO
    return {c: round_money(v) for c, v in paid.items() if round_money(v) > 0}


def client_credit(client: Client, currency: str = "RON") -> Decimal:
    """The client's credit in ``currency``: what was paid and not yet applied to an invoice."""
    return client_credits(client).get(currency, ZERO)


# --- dashboard figures ------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthFigures:
    month: date  # first day of the month
    invoiced: Decimal
    collected: Decimal


def _month_start(d: date, back: int = 0) -> date:
    m = d.year * 12 + d.month - 1 - back
    return date(m // 12, m % 12 + 1, 1)


def invoiced_vs_collected(
    company_id: int, months: int, as_of: date | datetime, currency: str = "RON"
) -> list[MonthFigures]:
    """Per month (oldest first, ``months`` of them ending with as_of's month): gross invoiced (credit
    notes deducted) and money collected (payments not reversed), in ``currency``. Two queries."""
    today = day_of(as_of)
    first = _month_start(today, months - 1)
    inv: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for m, kind, s in (
        Invoice.objects.filter(
            company_id=company_id, currency=currency, issue_date__gte=first, issue_date__lte=today
        )
        .order_by()
        .annotate(m=TruncMonth("issue_date"))
        .values_list("m", "kind")
        .annotate(s=Sum(Abs("gross_total")))
    ):
        m = m.date() if isinstance(m, datetime) else m
        inv[m] += (s or ZERO) if kind == InvoiceKind.INVOICE else -(s or ZERO)
    col: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for m, s in (
        Payment.objects.filter(
            company_id=company_id,
            currency=currency,
            reversed=False,
            date__gte=first,
            date__lte=today,
        )
        .order_by()
        .annotate(m=TruncMonth("date"))
        .values_list("m")
        .annotate(s=Sum("amount"))
    ):
        m = m.date() if isinstance(m, datetime) else m
        col[m] += s or ZERO
    out = []
    for back in range(months - 1, -1, -1):
        m = _month_start(today, back)
        out.append(MonthFigures(m, round_money(inv[m]), round_money(col[m])))
    return out


@dataclass(frozen=True)
class OpenDebt:
    invoice_id: int
    full_number: str
    client_id: int
    client_name: str
    due_date: date
    days_overdue: int
    outstanding: Decimal
    currency: str


@dataclass
class Receivables:
    currency: str
    outstanding: Decimal = ZERO
    overdue: Decimal = ZERO
    open_count: int = 0
    overdue_count: int = 0
    oldest: list[OpenDebt] = field(default_factory=list)


def _open_rows(company_id: int, as_of: date | datetime, currency: str, **filters: Any):
    return open_invoices(
        Invoice.objects.filter(company_id=company_id, currency=currency, **filters), as_of
    ).values_list("pk", "full_number", "client_id", "buyer_name", "due_date", "outstanding_amount")


def receivables(
    company_id: int, as_of: date | datetime, currency: str = "RON", oldest: int = 10
) -> Receivables:
    """Outstanding and overdue totals in ``currency`` and the oldest open debts. One query."""
    today = day_of(as_of)
    r = Receivables(currency=currency)
    for pk, num, client_id, name, due, left in _open_rows(company_id, as_of, currency):
        left = round_money(left)
        r.outstanding += left
        r.open_count += 1
        late = (today - due).days
        if late > 0:
            r.overdue += left
            r.overdue_count += 1
        if len(r.oldest) < oldest:
            r.oldest.append(OpenDebt(pk, num, client_id, name, due, max(late, 0), left, currency))
    return r


def client_amount_due(client: Client, as_of: date | datetime) -> dict[str, Decimal]:
    """What the client owes per currency (open invoices minus unallocated credit)."""
    due: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for cur, left in open_invoices(Invoice.objects.filter(client=client), as_of).values_list(
        "currency", "outstanding_amount"
    ):
        due[cur] += round_money(left)
    for cur, credit in client_credits(client).items():
        due[cur] -= credit
    return {c: v for c, v in due.items() if v > 0}
