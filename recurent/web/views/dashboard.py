"""The dashboard: invoiced vs collected, outstanding, what is due next, what needs attention, MRR."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import islice
from typing import Any

from django.db.models import DecimalField, ExpressionWrapper, F, Sum
from django.db.models.functions import Abs, Coalesce, TruncMonth
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.formats import date_format

from recurent.common import clock
from recurent.common.access import company_required
from recurent.contracts.models import Contract, ContractLine, ContractStatus
from recurent.engine.cycles import BUCHAREST
from recurent.engine.money import round_money
from recurent.invoices.models import Invoice, InvoiceKind
from recurent.web import seams

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


def _month_start(d: date, back: int = 0) -> date:
    m = d.year * 12 + d.month - 1 - back
    return date(m // 12, m % 12 + 1, 1)


def _invoiced_by_month(company_id: int, months: int, today: date) -> list[dict[str, Any]]:
    """Gross invoiced per month in lei (credit notes deducted), without the payments app."""
    first = _month_start(today, months - 1)
    sums: dict[date, Decimal] = defaultdict(lambda: ZERO)
    rows = (
        Invoice.objects.filter(
            company_id=company_id, currency="RON", issue_date__gte=first, issue_date__lte=today
        )
        .order_by()
        .annotate(m=TruncMonth("issue_date"))
        .values_list("m", "kind")
        .annotate(s=Sum(Abs("gross_total")))
    )
    for m, kind, s in rows:
        m = m.date() if isinstance(m, datetime) else m
        sums[m] += (s or ZERO) if kind == InvoiceKind.INVOICE else -(s or ZERO)
    return [
        {
            "month": _month_start(today, b),
            "invoiced": round_money(sums[_month_start(today, b)]),
            "collected": None,
        }
        for b in range(months - 1, -1, -1)
    ]


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


def due_next(
    company_id: int, now: datetime, days: int = 30, limit: int = 15
) -> tuple[int, list[dict[str, Any]]]:
    """Invoices the schedules will issue in the next ``days`` days: (count, first ``limit``)."""
    until = now + timedelta(days=days)
    contracts = (
        Contract.objects.filter(
            company_id=company_id, status=ContractStatus.ACTIVE, next_issue_at__lte=until
        )
        .select_related("client")
        .order_by("next_issue_at", "pk")
    )
    count = 0
    upcoming: list[dict[str, Any]] = []
    for c in contracts.iterator(chunk_size=500):
        for p in islice(c.schedule().periods(c.next_index), 400):
            if p.issue_at > until:
                break
            count += 1
            if len(upcoming) < limit * 4:
                upcoming.append({"at": p.issue_at, "contract": c, "late": p.issue_at <= now})
    upcoming.sort(key=lambda x: x["at"])  # type: ignore[no-any-return]
    return count, upcoming[:limit]


@company_required("viewer")
def dashboard(request: HttpRequest) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    now = clock.now()
    today = now.astimezone(BUCHAREST).date()
    figures = seams.invoiced_vs_collected(company.pk, 12, now)
    if figures is not None:
        months = [
            {"month": f.month, "invoiced": f.invoiced, "collected": f.collected} for f in figures
        ]
    else:
        months = _invoiced_by_month(company.pk, 12, today)
    this_month, last_month = months[-1], months[-2]
    receivables = seams.receivables(company.pk, now)
    money = mrr(company.pk)
    due_count, upcoming = due_next(company.pk, now)
    attention = list(
        Contract.objects.filter(company=company)
        .exclude(hold_kind="")
        .select_related("client")
        .order_by("hold_since")[:10]
    )
    attention_count = Contract.objects.filter(company=company).exclude(hold_kind="").count()
    recurring_last_month = Invoice.objects.filter(
        company=company, kind=InvoiceKind.INVOICE, currency="RON", contract__isnull=False,
        issue_date__gte=_month_start(today, 1), issue_date__lt=_month_start(today, 0),
    ).aggregate(s=Sum("net_total"))["s"] or ZERO  # fmt: skip
    chart = {
        "labels": [date_format(m["month"], "YEAR_MONTH_FORMAT") for m in months],
        "invoiced": [float(m["invoiced"]) for m in months],
        "collected": [float(m["collected"]) for m in months] if figures is not None else None,
    }
    active_contracts = Contract.objects.filter(
        company=company, status=ContractStatus.ACTIVE
    ).count()
    ctx = {
        "this_month": this_month,
        "last_month": last_month,
        "months": months,
        "chart": chart,
        "has_payments": figures is not None,
        "receivables": receivables,
        "mrr": money.get("RON", ZERO),
        "mrr_other": {k: v for k, v in money.items() if k != "RON"},
        "recurring_last_month": recurring_last_month,
        "due_count": due_count,
        "upcoming": upcoming,
        "attention": attention,
        "attention_count": attention_count,
        "active_contracts": active_contracts,
        "efactura": seams.efactura_attention(company.pk, now),
        "efactura_labels": seams.efactura_state_labels(),
        "mail": seams.mail_failures(company.pk),
    }
    return render(request, "web/dashboard.html", ctx)
