"""The dashboard's ledger-wide figures: a thin layer over the payments selectors.

Each invoice's paid and outstanding amounts are stored (``payments.InvoiceBalance``), so the
selectors' totals are index range reads over the open balances and there is one definition of
them (``payments.selectors.receivables``, ``invoiced_vs_collected``, ``Receivables``, ``OpenDebt``).
Here only what the dashboard's layout needs.
"""

from __future__ import annotations

from datetime import date, datetime

from recurent.payments import selectors
from recurent.payments.selectors import MonthFigures, OpenDebt, Receivables

__all__ = ["MonthFigures", "OpenDebt", "Receivables", "month_figures", "month_start", "receivables"]


def month_start(d: date, back: int = 0) -> date:
    m = d.year * 12 + d.month - 1 - back
    return date(m // 12, m % 12 + 1, 1)


def month_figures(
    *, company_id: int, months: int, as_of: datetime, currency: str = "RON"
) -> list[MonthFigures]:
    """Gross invoiced (credit notes deducted) and collected per month, oldest first."""
    return selectors.invoiced_vs_collected(company_id, months, as_of, currency)


def receivables(
    *, company_id: int, as_of: datetime, currency: str = "RON", oldest: int = 10
) -> Receivables:
    """What is left to collect and what is overdue, with the oldest open debts."""
    return selectors.receivables(company_id, as_of, currency, oldest)
