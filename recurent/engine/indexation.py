"""Yearly indexation of a contract's prices: when, by how much, and the new unit prices.

A contract may raise its prices once a year (issue #19):
- ``fixed``: by a fixed percentage written in the contract;
- ``cpi``: by Romania's consumer price index, INS's annual inflation rate "December vs
  December" (rata anuală a inflației) of the year before the indexation. INS publishes the
  December figure in mid-January; an indexation whose notice falls before the figure is stored
  waits for it (the caller decides what to do; here the figure is simply missing);
- ``eur``: re-pegged to EUR at the BNR rate: a RON price follows the EUR/RON rate from the
  base rate (the rate of the previous indexation, or of the contract date the first time) to
  the rate of the indexation's notice day.

When: once a year, on the anniversary of the contract date (29 February falls on 28 February in
other years) or on a fixed day and month (a 31 in a shorter month falls on its last day). The
first indexation is the first such day strictly after the contract date.

Rounding: a new unit price is rounded ONCE, half up, to 4 decimals (``money.round_price``), the
precision ContractLine.unit_price and Product.unit_price store. The invoice amounts are then
rounded to 2 decimals by ``money.round_money`` from the unrounded quantity x price, as for any
price: rounding the indexed price to 2 decimals would round twice. The factor is never rounded,
so indexing by p % gives price x (1 + p/100) exactly before that one rounding.

Prices do not go down with the CPI: a negative annual rate (deflation, as in 2015) leaves them
unchanged, which is what Romanian contracts' "indexare cu rata inflației" clauses usually mean.
A re-peg to EUR follows the rate both ways: that is what a peg is.

Pure Python, no Django, no clock: the caller gives the date, the table and the rates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from .errors import EngineError, gettext_noop
from .money import round_price

HUNDRED = Decimal(100)
# A fixed percentage is at most this (a typo of 500 instead of 5.00 is refused).
MAX_PERCENT = Decimal(100)
MAX_NOTICE_DAYS = 365


class IndexationError(EngineError):
    """An indexation setting or figure the core refuses (see errors.EngineError)."""


class Method(StrEnum):
    NONE = "none"
    FIXED = "fixed"
    CPI = "cpi"
    EUR = "eur"


class DateRule(StrEnum):
    ANNIVERSARY = "anniversary"
    FIXED = "fixed"


@dataclass(frozen=True)
class Settings:
    method: Method
    signed_on: date
    date_rule: DateRule = DateRule.ANNIVERSARY
    percent: Decimal | None = None  # for FIXED
    day: int | None = None  # for DateRule.FIXED
    month: int | None = None
    notice_days: int = 30
    currency: str = "RON"  # the contract's price currency (EUR re-peg: RON only)


@dataclass(frozen=True)
class Factor:
    """What the prices are multiplied by, and the figure it came from (for the history)."""

    value: Decimal
    method: Method
    percent: Decimal | None = None  # the fixed percentage or the CPI figure used
    cpi_year: int | None = None
    eur_base: Decimal | None = None
    eur_rate: Decimal | None = None

    def as_dict(self) -> dict[str, str | int | None]:
        return {
            "method": self.method.value,
            "factor": str(self.value),
            "percent": None if self.percent is None else str(self.percent),
            "cpi_year": self.cpi_year,
            "eur_base": None if self.eur_base is None else str(self.eur_base),
            "eur_rate": None if self.eur_rate is None else str(self.eur_rate),
        }


def check_settings(s: Settings) -> None:
    """Refuse settings that cannot work, naming the field."""
    if s.method == Method.NONE:
        return
    if s.method == Method.FIXED:
        if s.percent is None:
            raise IndexationError(
                "index_percent", gettext_noop("give the yearly percentage"), "required"
            )
        if s.percent <= 0 or s.percent > MAX_PERCENT:
            raise IndexationError(
                "index_percent",
                gettext_noop("the percentage must be above 0 and at most %(max)s"),
                "out_of_range",
                max=str(MAX_PERCENT),
            )
    if s.method == Method.EUR and s.currency != "RON":
        raise IndexationError(
            "index_method",
            gettext_noop("only a contract priced in RON can be re-pegged to EUR"),
            "not_ron",
        )
    if s.date_rule == DateRule.FIXED:
        if s.month is None or not 1 <= s.month <= 12:
            raise IndexationError(
                "index_month", gettext_noop("give a month from 1 to 12"), "out_of_range"
            )
        if s.day is None or not 1 <= s.day <= 31:
            raise IndexationError(
                "index_day", gettext_noop("give a day from 1 to 31"), "out_of_range"
            )
    if not 0 <= s.notice_days <= MAX_NOTICE_DAYS:
        raise IndexationError(
            "index_notice_days",
            gettext_noop("the notice is from 0 to %(max)s days"),
            "out_of_range",
            max=MAX_NOTICE_DAYS,
        )


def _clamped(year: int, month: int, day: int) -> date:
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return date(year, month, min(day, last.day))


def date_in(s: Settings, year: int) -> date:
    """The indexation day of ``year`` (it may fall before the first indexation: see first)."""
    if s.date_rule == DateRule.FIXED:
        assert s.month is not None and s.day is not None  # check_settings
        return _clamped(year, s.month, s.day)
    return _clamped(year, s.signed_on.month, s.signed_on.day)


def next_date(s: Settings, on_or_after: date) -> date:
    """The first indexation day on or after ``on_or_after`` and strictly after the contract date."""
    start = max(on_or_after, date.fromordinal(s.signed_on.toordinal() + 1))
    d = date_in(s, start.year)
    return d if d >= start else date_in(s, start.year + 1)


def cpi_year_for(indexation_day: date) -> int:
    """The CPI figure an indexation uses: December vs December of the year before."""
    return indexation_day.year - 1


def factor(
    s: Settings,
    *,
    on: date,
    cpi: Mapping[int, Decimal] | None = None,
    eur_base: Decimal | None = None,
    eur_rate: Decimal | None = None,
) -> Factor | None:
    """The multiplier for the indexation of day ``on``; None when its figure is not known yet.

    ``cpi`` maps a year to INS's annual rate in percent; ``eur_base`` and ``eur_rate`` are RON
    for one EUR at the base date and at the notice day.
    """
    if s.method == Method.FIXED:
        assert s.percent is not None
        return Factor(1 + s.percent / HUNDRED, s.method, percent=s.percent)
    if s.method == Method.CPI:
        year = cpi_year_for(on)
        pct = (cpi or {}).get(year)
        if pct is None:
            return None
        return Factor(1 + max(pct, Decimal(0)) / HUNDRED, s.method, percent=pct, cpi_year=year)
    if s.method == Method.EUR:
        if eur_base is None or eur_rate is None:
            return None
        if eur_base <= 0 or eur_rate <= 0:
            raise IndexationError("eur_rate", gettext_noop("an exchange rate must be positive"))
        return Factor(eur_rate / eur_base, s.method, eur_base=eur_base, eur_rate=eur_rate)
    return None


def new_prices(prices: Sequence[Decimal], f: Factor) -> list[Decimal]:
    """Each unit price times the factor, rounded once to the stored 4 decimals."""
    return [round_price(p * f.value) for p in prices]


def index_year(
    prices: Sequence[Decimal], f: Factor, *, year: int, last_indexed_year: int | None
) -> list[Decimal]:
    """The prices after the indexation of ``year``: unchanged when that year (or a later one)
    was already applied, so that applying the same year twice changes nothing."""
    if last_indexed_year is not None and last_indexed_year >= year:
        return list(prices)
    return new_prices(prices, f)
