"""The dashboard's figures over the whole ledger, computed in SQL in few passes.

With 100,000 invoices the per-invoice correlated subqueries of the payments selectors (right for
a page of 25 invoices) take seconds for the dashboard's totals. Here the same definitions are
computed by joining each table once: what was paid per invoice (payments not reversed) and what
was credited per invoice (credit notes, whatever their sign) are grouped once and joined to the
invoices. ``tests/web/test_dashboard_figures.py`` checks that the results equal the payments
app's selectors.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum
from django.db.models.functions import Abs

from recurent.engine.cycles import BUCHAREST
from recurent.engine.money import round_money
from recurent.invoices.models import Invoice, InvoiceKind, InvoiceStatus

ZERO = Decimal("0.00")


def _money(value: Any) -> Decimal:
    # SQLite sums decimals as floats: back to exact two-decimal amounts.
    return round_money(Decimal(str(value or 0)))


def month_start(d: date, back: int = 0) -> date:
    m = d.year * 12 + d.month - 1 - back
    return date(m // 12, m % 12 + 1, 1)


def _start_instant(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=BUCHAREST)


def month_figures(
    *, company_id: int, months: int, as_of: datetime, collected: bool, currency: str = "RON"
) -> list[dict[str, Any]]:
    """Gross invoiced (credit notes deducted) and collected per month, oldest first.

    Grouped by day in SQL and folded into months here: a day is a plain column on both
    databases, while truncating to a month is a Python function per row on SQLite.
    """
    today = as_of.astimezone(BUCHAREST).date()
    first = month_start(today, months - 1)
    sums: dict[date, Decimal] = defaultdict(lambda: ZERO)
    invoices = Invoice.objects.filter(
        company_id=company_id, currency=currency, issue_date__gte=first, issue_date__lte=today
    )
    if connection.vendor == "postgresql":
        # The same range on issued_at lets PostgreSQL's planner use the (company, issued_at)
        # index when the year is a small part of the history. SQLite's planner would take the
        # index even when the year is most of the table, which is slower than reading it all.
        invoices = invoices.filter(
            issued_at__gte=_start_instant(first) - timedelta(days=1),
            issued_at__lt=_start_instant(today + timedelta(days=2)),
        )
    rows = invoices.order_by().values_list("issue_date", "kind").annotate(s=Sum(Abs("gross_total")))
    for day, kind, s in rows:
        m = month_start(day)
        sums[m] += (s or ZERO) if kind == InvoiceKind.INVOICE else -(s or ZERO)
    got: dict[date, Decimal] = defaultdict(lambda: ZERO)
    if collected:
        from recurent.payments.models import Payment

        for day, s in (
            Payment.objects.filter(
                company_id=company_id, currency=currency, reversed=False,
                date__gte=first, date__lte=today,
            )
            .order_by()
            .values_list("date")
            .annotate(s=Sum("amount"))
        ):  # fmt: skip
            got[month_start(day)] += s or ZERO
    return [
        {
            "month": month_start(today, b),
            "invoiced": round_money(sums[month_start(today, b)]),
            "collected": round_money(got[month_start(today, b)]) if collected else None,
        }
        for b in range(months - 1, -1, -1)
    ]


@dataclass
class Debt:
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
    oldest: list[Debt] = field(default_factory=list)


def _open_sql() -> str:
    from recurent.payments.models import Allocation, Payment

    inv, alloc, pay = Invoice._meta.db_table, Allocation._meta.db_table, Payment._meta.db_table
    # Table names come from the models, values are parameters.
    return f"""
        SELECT i.id AS id, i.due_date AS due_date, i.full_number AS full_number,
               i.client_id AS client_id, i.buyer_name AS buyer_name,
               i.gross_total - COALESCE(pa.paid, 0) - COALESCE(cr.credited, 0) AS left_amount
        FROM {inv} i
        LEFT JOIN (SELECT a.invoice_id AS invoice_id, SUM(a.amount) AS paid
                   FROM {alloc} a JOIN {pay} p ON p.id = a.payment_id
                   WHERE p.company_id = %(company)s AND p.reversed = %(false)s
                   GROUP BY a.invoice_id) pa ON pa.invoice_id = i.id
        LEFT JOIN (SELECT c.credited_invoice_id AS invoice_id, SUM(ABS(c.gross_total)) AS credited
                   FROM {inv} c
                   WHERE c.company_id = %(company)s AND c.kind = %(credit_note)s
                     AND c.credited_invoice_id IS NOT NULL
                   GROUP BY c.credited_invoice_id) cr ON cr.invoice_id = i.id
        -- Below half a ban an invoice counts as paid (as in the payments app). A literal: SQLite
        -- would compare a bound Decimal as text.
        WHERE i.company_id = %(company)s AND i.currency = %(currency)s
          AND i.kind = %(invoice)s AND i.status <> %(cancelled)s
          AND i.gross_total - COALESCE(pa.paid, 0) - COALESCE(cr.credited, 0) >= 0.005
    """  # noqa: S608


# The totals ride along on each of the oldest rows (window aggregates over the whole open set), so
# the open set is computed once. No open invoice: no row, every total is zero.
OLDEST_SQL = """
    SELECT o.id, o.full_number, o.client_id, o.buyer_name, o.due_date, o.left_amount,
           SUM(o.left_amount) OVER (), COUNT(*) OVER (),
           SUM(CASE WHEN o.due_date < %(today)s THEN o.left_amount ELSE 0 END) OVER (),
           SUM(CASE WHEN o.due_date < %(today)s THEN 1 ELSE 0 END) OVER ()
    FROM ({open}) o ORDER BY o.due_date, o.id LIMIT %(n)s
"""


def receivables(
    *, company_id: int, as_of: datetime, currency: str = "RON", oldest: int = 10
) -> Receivables:
    """What is left to collect and what is overdue, with the oldest open debts. One query."""
    today = as_of.astimezone(BUCHAREST).date()
    params: dict[str, Any] = {
        "company": company_id, "currency": currency, "today": today, "false": False,
        "invoice": InvoiceKind.INVOICE.value, "credit_note": InvoiceKind.CREDIT_NOTE.value,
        "cancelled": InvoiceStatus.CANCELLED.value,
    }  # fmt: skip
    sql = OLDEST_SQL.format(open=_open_sql())  # noqa: S608  (names from the models)
    pg = connection.vendor == "postgresql"
    with transaction.atomic() if pg else nullcontext(), connection.cursor() as cur:
        if pg:
            # Measured on 2 cores: a parallel plan builds the allocation hash once per worker
            # and takes longer (docs/benchmarks/web.md).
            cur.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        cur.execute(sql, {**params, "n": max(oldest, 1)})
        rows = cur.fetchall()
    r = Receivables(currency=currency)
    if rows:
        total, count, overdue, overdue_count = rows[0][6:10]
        r.outstanding, r.overdue = _money(total), _money(overdue)
        r.open_count, r.overdue_count = int(count), int(overdue_count)
    for pk, number, client_id, name, due, left, *_totals in rows[:oldest]:
        due = date.fromisoformat(due) if isinstance(due, str) else due  # SQLite gives text
        late = max((today - due).days, 0)
        r.oldest.append(Debt(pk, number, client_id, name, due, late, _money(left), currency))
    return r
