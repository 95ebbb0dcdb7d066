"""The dashboard: invoiced vs collected, outstanding, what is due next, what needs attention, MRR."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta
from decimal import Decimal
from itertools import islice
from typing import Any

from django.db.models import DecimalField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.formats import date_format

from recurent.common import clock
from recurent.companies.access import company_required
from recurent.contracts.models import Contract, ContractLine, ContractStatus
from recurent.documents.api import render_problems
from recurent.engine.cycles import BUCHAREST
from recurent.engine.money import round_money
from recurent.invoices.models import Invoice, InvoiceKind
from recurent.ops.selectors import workers_seen
from recurent.web import figures, panels
from recurent.web.views import setup as setup_views

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=20, decimal_places=4)
# Months per cycle, to bring every contract to a monthly amount (MRR).
MONTHS_PER_CYCLE = {
    "weekly": Decimal(12) / Decimal(52),
    "monthly": Decimal(1),
    "quarterly": Decimal(3),
    "half-yearly": Decimal(6),
    "yearly": Decimal(12),
}
DAYS_PER_MONTH = Decimal("30.436875")


def mrr(company_id: int) -> dict[str, Decimal]:
    """Monthly recurring revenue of the active contracts, per price currency. One query."""
    price = Coalesce(F("unit_price"), F("product__unit_price"))
    rows = (
        ContractLine.objects.filter(
            contract__company_id=company_id,
            contract__status=ContractStatus.ACTIVE,
            until_index__isnull=True,
        )
        .order_by()
        .values_list("contract__cycle", "contract__every_days", "contract__currency")
        .annotate(s=Sum(ExpressionWrapper(F("quantity") * price, output_field=MONEY)))
    )
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for cycle, every_days, currency, s in rows:
        if cycle == "days":
            months = Decimal(every_days or 30) / DAYS_PER_MONTH
        else:
            months = MONTHS_PER_CYCLE.get(cycle, Decimal(1))
        out[currency] += Decimal(s or 0) / months
    return {c: round_money(v) for c, v in out.items()}


def _periods_until(c: Contract, until: datetime) -> int:
    """How many of the contract's periods, from its next one, are issued at or before ``until``.

    Arithmetic through the schedule's own index search (a few instants per contract), not a walk
    over every period.
    """
    sch = c.schedule()
    stop = sch.index_after(until)
    if sch.final_index is not None:
        stop = min(stop, sch.final_index + 1)
    if sch.end is not None:
        stop = min(stop, sch.first_index_at_or_after(sch.end))
    return max(0, stop - c.next_index)


# The shortest length of each cycle: a contract due later than ``until - length`` has exactly one
# period inside the window, so only the others need their schedule computed.
SHORTEST = {"weekly": timedelta(days=7), "monthly": timedelta(days=28),
            "quarterly": timedelta(days=89), "half-yearly": timedelta(days=181),
            "yearly": timedelta(days=365)}  # fmt: skip


def due_next(
    company_id: int, now: datetime, days: int = 30, limit: int = 15
) -> tuple[int, list[dict[str, Any]]]:
    """Invoices the schedules will issue in the next ``days`` days: (count, first ``limit``).

    Every due contract counts once in SQL; only contracts that may have a second period inside
    the window (short cycles, or late ones catching up) have their schedule computed.
    """
    until = now + timedelta(days=days)
    due = Contract.objects.filter(
        company_id=company_id, status=ContractStatus.ACTIVE, next_issue_at__lte=until
    )
    count = due.count()
    maybe_more = Q(cycle="days")
    for cycle, length in SHORTEST.items():
        maybe_more |= Q(cycle=cycle, next_issue_at__lte=until - length)
    fields = ("first_issue_at", "cycle", "every_days", "ends_at", "in_arrears", "final_index",
              "next_index", "next_issue_at")  # fmt: skip
    for c in due.filter(maybe_more).only(*fields).iterator(chunk_size=1000):
        count += _periods_until(c, until) - 1
    # The first ``limit`` contracts by next instant hold the first ``limit`` issues: any other
    # contract's periods all come after theirs.
    upcoming: list[dict[str, Any]] = []
    for c in due.select_related("client").order_by("next_issue_at", "pk")[:limit]:
        for p in islice(c.schedule().periods(c.next_index), limit):
            if p.issue_at > until:
                break
            upcoming.append({"at": p.issue_at, "contract": c, "late": p.issue_at <= now})
    upcoming.sort(key=lambda x: x["at"])  # type: ignore[no-any-return]
    return count, upcoming[:limit]


@company_required("viewer")
def dashboard(request: HttpRequest) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    now = clock.now()
    today = now.astimezone(BUCHAREST).date()
    # Read from the stored invoice balances through the payments selectors (figures.py).
    months = figures.month_figures(company_id=company.pk, months=12, as_of=now)
    this_month, last_month = months[-1], months[-2]
    receivables = figures.receivables(company_id=company.pk, as_of=now)
    money = mrr(company.pk)
    due_count, upcoming = due_next(company.pk, now)
    held = Contract.objects.filter(company=company).exclude(hold_kind="")
    attention = list(held.select_related("client").order_by("hold_since")[:10])
    attention_count = panels.bounded_count(attention, 10, held)
    last, this = figures.month_start(today, 1), figures.month_start(today, 0)
    # issued_at bounds the scan through the (company, issued_at) index; issue_date decides.
    recurring_last_month = Invoice.objects.filter(
        company=company, kind=InvoiceKind.INVOICE, currency="RON", contract__isnull=False,
        issued_at__gte=datetime.combine(last, time(0), tzinfo=BUCHAREST) - timedelta(days=1),
        issued_at__lt=datetime.combine(this, time(0), tzinfo=BUCHAREST) + timedelta(days=1),
        issue_date__gte=last, issue_date__lt=this,
    ).aggregate(s=Sum("net_total"))["s"] or ZERO  # fmt: skip
    chart = {
        "labels": [date_format(m.month, "YEAR_MONTH_FORMAT") for m in months],
        "invoiced": [float(m.invoiced) for m in months],
        "collected": [float(m.collected) for m in months],
    }
    active_contracts = Contract.objects.filter(
        company=company, status=ContractStatus.ACTIVE
    ).count()
    ctx = {
        "this_month": this_month,
        "last_month": last_month,
        "months": months,
        "chart": chart,
        "receivables": receivables,
        "mrr": money.get("RON", ZERO),
        "mrr_other": {k: v for k, v in money.items() if k != "RON"},
        "recurring_last_month": recurring_last_month,
        "due_count": due_count,
        "upcoming": upcoming,
        "attention": attention,
        "attention_count": attention_count,
        "active_contracts": active_contracts,
        "efactura": panels.efactura_attention(company.pk, now),
        "efactura_labels": panels.efactura_state_labels(),
        "mail": panels.mail_failures(company.pk),
        "review": panels.review_waiting(company, now),
        "render_problems": render_problems(company.pk, now),
        "workers": workers_seen(as_of=now),
        # What the guided set-up still misses (administrators finish it; others just see it).
        "setup_missing": setup_views.missing_steps(company),
    }
    return render(request, "web/dashboard.html", ctx)
