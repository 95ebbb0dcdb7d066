"""Proration: a change in the middle of a billing period, priced by days.

Pure Python, no Django, no clock. The rule (docs/proration.md says it for the owner and the
accountant):

- Days are Europe/Bucharest calendar dates, both ends included, as ``cycles.Period`` gives
  them: a period of January has 31 days whatever the DST change or the issue hour.
- A change made on day ``d`` serves the client from ``d`` (the day itself counts as new).
- A line's share of ``n`` days out of a period of ``N`` is ``amount x n / N``, rounded once by
  ``money.round_money``; ``amount`` is quantity x unit price, unrounded, as the invoice prices it.
- A period already invoiced with the old lines (billed in advance) gets, for each line whose
  amount changed, the difference new - old for the days ``d .. end``. A period not invoiced yet
  (billed in arrears, or an invoice still due) will be invoiced with the new lines, so it gets
  the difference old - new for the days ``start .. d - 1``. Either way the period costs the old
  amount for the days before ``d`` and the new one from ``d``, to one rounding per line.
- One net figure per line (not a credit of the old line and a charge of the new one): the
  accountant reads "5 -> 8 users, 15.01-31.01, 17/31 days: +54.84" on one line. Lines are
  matched by a key (the product): a product dropped gives a credit, a product added a charge.

Splitting a period at any day never creates or loses more than one rounding unit (0.01):
tests/engine/test_proration.py proves it with hypothesis.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from .errors import EngineError, gettext_noop
from .money import round_money


class Policy(enum.StrEnum):
    """When a change in the middle of a period takes effect (Company.proration_policy)."""

    NEXT_PERIOD = "next_period"  # from the next period not invoiced yet; nothing prorated
    IMMEDIATELY = "immediately"  # from the day of the change, prorated on the next invoice


class ProrationError(EngineError):
    """A proration that cannot be computed; ``field`` names the culprit."""


def days_between(first: date, last: date) -> int:
    """The number of calendar days from ``first`` to ``last``, both included."""
    return (last - first).days + 1


def _check_period(first: date, last: date) -> None:
    if last < first:
        raise ProrationError(
            "period_end",
            gettext_noop("the period ends (%(last)s) before it starts (%(first)s)"),
            "period_reversed",
            first=first.isoformat(),
            last=last.isoformat(),
        )


def prorate(
    *, amount: Decimal, period_first: date, period_last: date, first: date, last: date
) -> Decimal:
    """``amount``'s share for the days ``first .. last`` of the period, rounded once."""
    _check_period(period_first, period_last)
    if first < period_first or last > period_last or last < first:
        raise ProrationError(
            "days",
            gettext_noop("%(first)s .. %(last)s is not a stretch of days inside the period"),
            "days_outside_period",
            first=first.isoformat(),
            last=last.isoformat(),
        )
    n, whole = days_between(first, last), days_between(period_first, period_last)
    return round_money(amount * n / whole)


@dataclass(frozen=True)
class Adjustment:
    """One line's prorated difference: > 0 a charge, < 0 a credit, never 0."""

    key: str  # which line (the product)
    amount: Decimal  # rounded once, signed, in the price currency
    old: Decimal  # the line's amount for a whole period before the change (0: added)
    new: Decimal  # and after it (0: dropped)
    first: date  # the days it covers, both included
    last: date
    days: int
    period_days: int


def change_adjustments(
    *,
    old: Mapping[str, Decimal],
    new: Mapping[str, Decimal],
    period_first: date,
    period_last: date,
    change_day: date,
    billed: bool,
) -> list[Adjustment]:
    """What the next invoice must carry so that the period costs ``old`` before ``change_day``
    and ``new`` from it on.

    ``old``/``new``: each line's amount for a whole period (quantity x unit price, unrounded),
    by key. ``billed``: the period was (or is being) invoiced with ``old``; otherwise it will be
    invoiced with ``new``. Lines whose amount did not change give nothing; the order is that of
    ``new``, then the keys only ``old`` has.
    """
    _check_period(period_first, period_last)
    if not period_first <= change_day <= period_last:
        raise ProrationError(
            "change_day",
            gettext_noop("the change day %(day)s is outside the period %(first)s .. %(last)s"),
            "change_outside_period",
            day=change_day.isoformat(),
            first=period_first.isoformat(),
            last=period_last.isoformat(),
        )
    if billed:
        first, last, sign = change_day, period_last, 1
    else:
        first, last, sign = period_first, change_day - timedelta(days=1), -1
    if last < first:
        return []  # a change on the first day of a period not invoiced yet: nothing before it
    whole = days_between(period_first, period_last)
    out = []
    for key in [*new, *(k for k in old if k not in new)]:
        before, after = old.get(key, Decimal(0)), new.get(key, Decimal(0))
        amount = prorate(
            amount=sign * (after - before),
            period_first=period_first,
            period_last=period_last,
            first=first,
            last=last,
        )
        if amount:
            out.append(
                Adjustment(
                    key, amount, before, after, first, last, days_between(first, last), whole
                )
            )
    return out
