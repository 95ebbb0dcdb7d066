"""Reads of the payment side: what is outstanding, each invoice's payment state, receivables.

The figures come from the stored balance of each invoice (``InvoiceBalance``, kept by
``payments.balances`` and the services); the state is read from it and the day asked:

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
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
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
from django.db.models.functions import Abs, Coalesce
from django.utils.translation import pgettext_lazy

from recurent.clients.models import Client
from recurent.engine.cycles import BUCHAREST
from recurent.engine.money import round_money
from recurent.invoices.models import Invoice, InvoiceKind

from .models import (
    Allocation,
    BalanceState,
    CollectionItem,
    CollectionStatus,
    InvoiceBalance,
    Payment,
)

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

    # Lazy: translated when shown, in the reader's language.
    LABELS = {
        "unpaid": pgettext_lazy("payment state", "unpaid"),
        "partially_paid": pgettext_lazy("payment state", "partially paid"),
        "paid": pgettext_lazy("payment state", "paid"),
        "overdue": pgettext_lazy("payment state", "overdue"),
        "cancelled": pgettext_lazy("payment state", "cancelled"),
        "collection_requested": pgettext_lazy("payment state", "collection requested"),
        "credit_note": pgettext_lazy("payment state", "credit note"),
    }


def day_of(as_of: date | datetime) -> date:
    """The Bucharest calendar day of an instant (a date is taken as is)."""
    if isinstance(as_of, datetime):
        return as_of.astimezone(BUCHAREST).date()
    return as_of


def _requested() -> Exists:
    return Exists(
        CollectionItem.objects.filter(invoice=OuterRef("pk"), status=CollectionStatus.REQUESTED),
        output_field=BooleanField(),
    )


def with_payment_state(qs: QuerySet[Invoice], as_of: date | datetime) -> Any:
    """Annotate ``paid_amount``, ``credited_amount``, ``outstanding_amount``, ``payment_state``.

    One query for any number of invoices: the figures are read from the stored balance (one join
    on its primary key); only "overdue" is decided here, from the due date and ``as_of``.
    """
    today = day_of(as_of)
    return qs.annotate(
        paid_amount=F("balance__paid"),
        credited_amount=F("balance__credited"),
        outstanding_amount=F("balance__outstanding"),
        outstanding_raw=ExpressionWrapper(
            F("balance__total") - F("balance__paid") - F("balance__credited"), output_field=MONEY
        ),
        collection_requested=_requested(),
        payment_state=Case(
            When(balance__state=BalanceState.CREDIT_NOTE, then=Value(State.CREDIT_NOTE)),
            When(balance__state=BalanceState.CANCELLED, then=Value(State.CANCELLED)),
            When(balance__state=BalanceState.PAID, then=Value(State.PAID)),
            When(collection_requested=True, then=Value(State.COLLECTION_REQUESTED)),
            When(balance__due_date__lt=today, then=Value(State.OVERDUE)),
            When(balance__paid__gt=ZERO, then=Value(State.PARTIALLY_PAID)),
            default=Value(State.UNPAID),
        ),
    )


def filter_payment_state(qs: QuerySet[Invoice], state: str, as_of: date | datetime) -> Any:
    """``with_payment_state(qs, as_of).filter(payment_state=state)``, written as conditions on the
    stored columns so that the database can use the balance indexes instead of deciding the
    state of every invoice first."""
    today = day_of(as_of)
    stored = {
        State.CREDIT_NOTE: BalanceState.CREDIT_NOTE,
        State.CANCELLED: BalanceState.CANCELLED,
        State.PAID: BalanceState.PAID,
    }
    annotated: Any = with_payment_state(qs, as_of)
    if state in stored:
        return annotated.filter(balance__state=stored[state])
    open_ = Q(balance__state=BalanceState.OPEN)
    if state == State.COLLECTION_REQUESTED:
        return annotated.filter(open_, collection_requested=True)
    open_ &= Q(collection_requested=False)
    if state == State.OVERDUE:
        return annotated.filter(open_, balance__due_date__lt=today)
    if state == State.PARTIALLY_PAID:
        return annotated.filter(open_, balance__due_date__gte=today, balance__paid__gt=ZERO)
    if state == State.UNPAID:
        return annotated.filter(open_, balance__due_date__gte=today, balance__paid__lte=ZERO)
    return annotated.none()


def open_invoices(qs: QuerySet[Invoice], as_of: date | datetime) -> Any:
    """Invoices with something left to collect, oldest due first."""
    return with_payment_state(qs.filter(balance__state=BalanceState.OPEN), as_of).order_by(
        "balance__due_date", "pk"
    )


def _balance(invoice: Invoice | int) -> InvoiceBalance:
    pk = invoice if isinstance(invoice, int) else invoice.pk
    b = InvoiceBalance.objects.filter(pk=pk).first()
    if b is None:
        # Only an invoice written around the issuing services (a test that replaced the
        # AFTER_ISSUE hooks, say) lacks its row: worked out from the source rows then, and
        # ``balances.mismatches`` lists it.
        from .balances import recomputed

        e = recomputed([pk])[pk]
        b = InvoiceBalance(invoice_id=pk, total=e.total, paid=e.paid, credited=e.credited,
                           outstanding=e.outstanding, state=e.state, due_date=e.due_date,
                           currency=e.currency)  # fmt: skip
    return b


def paid_amount(invoice: Invoice) -> Decimal:
    return _balance(invoice).paid


def credited_amount(invoice: Invoice) -> Decimal:
    return _balance(invoice).credited


def outstanding(invoice: Invoice) -> Decimal:
    """What is left to collect on the invoice, in its currency (never negative)."""
    return _balance(invoice).outstanding


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


def _start_instant(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=BUCHAREST)


def invoiced_vs_collected(
    company_id: int, months: int, as_of: date | datetime, currency: str = "RON"
) -> list[MonthFigures]:
    """Per month (oldest first, ``months`` of them ending with as_of's month): gross invoiced (credit
    notes deducted) and money collected (payments not reversed), in ``currency``. Two queries.

    Grouped by day in SQL and folded into months here: a day is a plain column on both
    databases, while truncating to a month is a Python function per row on SQLite.
    """
    today = day_of(as_of)
    first = _month_start(today, months - 1)
    invoices = Invoice.objects.filter(
        company_id=company_id, currency=currency, issue_date__gte=first, issue_date__lte=today
    )
    if connection.vendor == "postgresql":
        # The same range on issued_at (a day wider each side) lets PostgreSQL's planner use the
        # (company, issued_at) index when the months are a small part of the history. SQLite's
        # planner would take the index even when they are most of the table, which is slower
        # than reading it all (docs/benchmarks/web.md).
        invoices = invoices.filter(
            issued_at__gte=_start_instant(first) - timedelta(days=1),
            issued_at__lt=_start_instant(today + timedelta(days=2)),
        )
    inv: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for day, kind, s in (
        invoices.order_by().values_list("issue_date", "kind").annotate(s=Sum(Abs("gross_total")))
    ):
        inv[_month_start(day)] += (s or ZERO) if kind == InvoiceKind.INVOICE else -(s or ZERO)
    col: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for day, s in (
        Payment.objects.filter(
            company_id=company_id,
            currency=currency,
            # `IN (false)`, not `reversed=False`: Django writes the latter as `NOT reversed`,
            # which SQLite cannot match against the covering index payment_collected_by_day
            # (56 ms -> 4 ms at 75,000 payments).
            reversed__in=[False],
            date__gte=first,
            date__lte=today,
        )
        .order_by()
        .values_list("date")
        .annotate(s=Sum("amount"))
    ):
        col[_month_start(day)] += s or ZERO
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


def _open_rows(company_id: int, as_of: date | datetime, currency: str, **filters: Any) -> Any:
    """(pk, number, client, buyer name, due date, outstanding) of the open invoices, oldest due
    first, from the stored balances (the aging report reads them)."""
    return (
        InvoiceBalance.objects.filter(
            company_id=company_id, state=BalanceState.OPEN, currency=currency, **filters
        )
        .order_by("due_date", "invoice_id")
        .values_list(
            "invoice_id", "invoice__full_number", "client_id", "invoice__buyer_name", "due_date",
            "outstanding",
        )
    )  # fmt: skip


def receivables(
    company_id: int, as_of: date | datetime, currency: str = "RON", oldest: int = 10
) -> Receivables:
    """Outstanding and overdue totals in ``currency`` and the oldest open debts. Two queries over
    the open balances only (an index range), however long the history."""
    today = day_of(as_of)
    open_ = InvoiceBalance.objects.filter(
        company_id=company_id, state=BalanceState.OPEN, currency=currency
    ).order_by()
    late = Q(due_date__lt=today)
    totals = open_.aggregate(
        left_sum=Sum("outstanding"),
        open_n=Count("pk"),
        late_sum=Sum("outstanding", filter=late),
        late_n=Count("pk", filter=late),
    )
    r = Receivables(
        currency=currency,
        outstanding=round_money(totals["left_sum"] or ZERO),
        overdue=round_money(totals["late_sum"] or ZERO),
        open_count=totals["open_n"],
        overdue_count=totals["late_n"],
    )
    if oldest > 0 and r.open_count:
        for pk, num, client_id, name, due, left in _open_rows(company_id, as_of, currency)[:oldest]:
            days = max((today - due).days, 0)
            r.oldest.append(
                OpenDebt(pk, num, client_id, name, due, days, round_money(left), currency)
            )
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
