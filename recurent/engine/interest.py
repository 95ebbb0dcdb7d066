"""Late-payment interest (penalități de întârziere) on one invoice: a pure calculation.

The law (docs/interest.md cites it):
- OG 13/2011 art. 3 (2^1): between professionals (Legea 72/2013) the legal penalty interest is the
  BNR reference rate + 8 percentage points a year;
- OG 13/2011 art. 3 (3): towards a consumer (a non-professional) it is the reference rate + 4
  points, reduced by 20 %;
- OG 13/2011 art. 3 (4): the reference rate of a half-year is the one in force on 1 January or
  1 July of it; a change during the half-year does not count until the next half-year;
- instead, a contract may set its own penalty rate per day (a percentage of the sum due);
- the penalties are capped at the principal (the sum they are computed on), as courts apply
  the rule of Codul civil art. 1.535 / Legea 72/2013 in practice.

Days: interest runs from the day after the due date to the day of payment, both counted (paid
one day late = one day). Day count actual/365 for the annual rates (one day is 1/365 of the
annual rate, in a leap year as well). A payment on day P still bears interest for day P; the
balance falls from day P + 1.

Rounding: the segment amounts stay unrounded; only the total is rounded, once (engine.money).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from .errors import EngineError, gettext_noop
from .money import round_money

ZERO = Decimal("0")
DAYS_IN_YEAR = Decimal(365)
PROFESSIONAL_MARGIN = Decimal("8")  # percentage points a year, OG 13/2011 art. 3 (2^1)
CONSUMER_MARGIN = Decimal("4")  # percentage points a year, OG 13/2011 art. 3 (3)
CONSUMER_FACTOR = Decimal("0.8")  # "diminuată cu 20%", OG 13/2011 art. 3 (3)


class InterestError(EngineError):
    """A value the interest calculation refuses (see errors.EngineError)."""


class InterestRule(StrEnum):
    LEGAL_PROFESSIONAL = "legal_professional"
    LEGAL_CONSUMER = "legal_consumer"
    CONTRACTUAL = "contractual"


# The legal basis printed on an interest invoice's VAT breakdown (BT-120, at most 100 characters
# in e-Factura): neither is a supply, so neither is in the VAT taxable base. Codul fiscal
# art. 286 alin. (4): lit. b) penalties for breach of contract, lit. c) interest for late payment.
_NOT_IN_BASE = "neincluse în baza de impozitare TVA (art. 286 alin. (4) lit. {} Cod fiscal)"


def vat_exemption_text(rules: Iterable[InterestRule]) -> str:
    """BT-120 for an interest invoice's E category: lit. c) for statutory interest, lit. b) for
    a contractual penalty, both when one invoice carries both."""
    kinds = {r is InterestRule.CONTRACTUAL for r in rules}
    if kinds == {True}:
        return "Penalități " + _NOT_IN_BASE.format("b)")
    if kinds == {False}:
        return "Dobânzi de întârziere " + _NOT_IN_BASE.format("c)")
    return "Penalități, dobânzi " + _NOT_IN_BASE.format("b), c)")


class RateUnit(StrEnum):
    YEAR = "year"  # percent a year, actual/365
    DAY = "day"  # percent a day (a contractual rate)


@dataclass(frozen=True)
class ReferenceRate:
    """A BNR reference rate (percent a year) in force from ``valid_from`` until the next one."""

    valid_from: date
    rate: Decimal


@dataclass(frozen=True)
class PaymentMade:
    """A sum paid on the invoice (allocations of one day may be summed or not: same result)."""

    day: date
    amount: Decimal


@dataclass(frozen=True)
class Segment:
    """Days ``start`` .. ``end`` (both counted) late on ``base`` at ``rate`` a ``unit``."""

    start: date
    end: date
    days: int
    base: Decimal
    rate: Decimal
    unit: RateUnit
    reference_rate: Decimal | None  # the BNR rate behind a legal rate; None for a contractual one
    amount: Decimal  # unrounded


@dataclass(frozen=True)
class InterestResult:
    segments: tuple[Segment, ...]
    raw_total: Decimal  # the sum of the segments, unrounded
    total: Decimal  # rounded once; never above the principal less what was already charged
    capped: bool  # True when the cap cut the total


def half_year_start(day: date) -> date:
    return date(day.year, 1 if day.month <= 6 else 7, 1)


def _next_half_year(day: date) -> date:
    start = half_year_start(day)
    return date(start.year, 7, 1) if start.month == 1 else date(start.year + 1, 1, 1)


def reference_rate_on(rates: Sequence[ReferenceRate], day: date) -> Decimal:
    """The reference rate in force on ``day`` (the newest one whose validity started by then)."""
    found: ReferenceRate | None = None
    for r in rates:
        if r.valid_from <= day and (found is None or r.valid_from > found.valid_from):
            found = r
    if found is None:
        raise InterestError(
            "reference_rates",
            gettext_noop("no BNR reference rate in force on %(day)s"),
            "no_reference_rate",
            day=day.isoformat(),
        )
    return found.rate


def legal_annual_rate(rule: InterestRule, reference: Decimal) -> Decimal:
    """Percent a year for a legal rule from the reference rate of the half-year."""
    if rule == InterestRule.LEGAL_PROFESSIONAL:
        return reference + PROFESSIONAL_MARGIN
    return (reference + CONSUMER_MARGIN) * CONSUMER_FACTOR


def _balance_changes(
    principal: Decimal, due_date: date, payments: Sequence[PaymentMade]
) -> list[tuple[date, Decimal]]:
    """(first day at this balance, balance) from the first late day on, in date order."""
    first_late = due_date + timedelta(days=1)
    balance = principal
    changes: dict[date, Decimal] = {}
    for p in sorted(payments, key=lambda p: p.day):
        balance = max(ZERO, balance - p.amount)
        # Paid on day P: day P still late on the old balance; on time: from the first late day.
        changes[max(first_late, p.day + timedelta(days=1))] = balance
    steps = [(first_late, principal)]
    for day in sorted(changes):
        if day == first_late:
            steps[0] = (first_late, changes[day])
        else:
            steps.append((day, changes[day]))
    return steps


def _check(principal: Decimal, daily_percent: Decimal | None, rule: InterestRule) -> None:
    if principal < 0:
        raise InterestError("principal", gettext_noop("cannot be negative"), "negative")
    if rule == InterestRule.CONTRACTUAL and (daily_percent is None or daily_percent <= 0):
        raise InterestError(
            "interest_daily_percent",
            gettext_noop("a contractual rule needs a rate per day greater than zero"),
            "required",
        )


def late_interest(
    *,
    principal: Decimal,
    due_date: date,
    payments: Sequence[PaymentMade],
    until: date,
    rule: InterestRule,
    reference_rates: Sequence[ReferenceRate] = (),
    daily_percent: Decimal | None = None,
    since: date | None = None,
    already_charged: Decimal = ZERO,
) -> InterestResult:
    """Interest on one invoice for the late days up to ``until`` (included).

    ``since``: the first day to count (the day after what was already invoiced); days before
    it are never counted again. ``already_charged``: the interest invoiced before, which the
    cap at the principal takes into account.
    """
    _check(principal, daily_percent, rule)
    start = due_date + timedelta(days=1)
    if since is not None and since > start:
        start = since
    steps = _balance_changes(principal, due_date, payments)
    segments: list[Segment] = []
    for i, (from_day, base) in enumerate(steps):
        to_day = steps[i + 1][0] - timedelta(days=1) if i + 1 < len(steps) else until
        lo, hi = max(from_day, start), min(to_day, until)
        if base <= 0 or lo > hi:
            continue
        segments.extend(_rated(lo, hi, base, rule, reference_rates, daily_percent))
    raw = sum((s.amount for s in segments), ZERO)
    cap = max(ZERO, principal - already_charged)
    total = round_money(min(raw, cap))
    return InterestResult(tuple(segments), raw, total, raw > cap)


def _rated(
    lo: date,
    hi: date,
    base: Decimal,
    rule: InterestRule,
    reference_rates: Sequence[ReferenceRate],
    daily_percent: Decimal | None,
) -> list[Segment]:
    """Days lo .. hi on one balance, cut at each half-year for a legal rule."""
    if rule == InterestRule.CONTRACTUAL:
        assert daily_percent is not None
        days = (hi - lo).days + 1
        amount = base * daily_percent / 100 * days
        return [Segment(lo, hi, days, base, daily_percent, RateUnit.DAY, None, amount)]
    out = []
    day = lo
    while day <= hi:
        end = min(hi, _next_half_year(day) - timedelta(days=1))
        reference = reference_rate_on(reference_rates, half_year_start(day))
        annual = legal_annual_rate(rule, reference)
        days = (end - day).days + 1
        amount = base * annual / 100 * days / DAYS_IN_YEAR
        out.append(Segment(day, end, days, base, annual, RateUnit.YEAR, reference, amount))
        day = end + timedelta(days=1)
    return out
