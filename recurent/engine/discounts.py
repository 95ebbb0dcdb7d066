"""Discounts and trials: what a contract's discounts take off each line of one period.

A discount is a percentage or a fixed amount (in the contract's price currency), on one contract
line (its position, 1-based) or on the whole contract, for the periods
``[from_index, from_index + periods)`` and/or the periods that start before ``until``. A trial is
the same thing flagged ``trial`` (100 %: the first N periods free; X %: at a reduced price), so
that the invoice and the client's notice can say so.

On the invoice a discount is a line allowance (EN 16931 BG-27; CIUS-RO accepts it): the line's
net amount (BT-131) is quantity x unit price, rounded once, minus its allowances. The rules:
- a percentage of a line is rounded once (half-up, ``money.round_money``) from the line's net;
- a contract-wide discount is computed once, on the sum of the lines it covers, rounded once,
  and split over those lines in cents by ``money.allocate`` (largest remainder), so its parts
  add up to the one rounded figure;
- several discounts on one line apply in order, each on what the previous ones left, and never
  take more than is left: a discount never makes a line negative (and never pays the client);
- lines whose net is not positive (credits) are never discounted.
Pure: no Django, no clock.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .errors import EngineError, gettext_noop
from .money import allocate, round_money

HUNDRED = Decimal(100)
ZERO = Decimal("0.00")


class DiscountKind(enum.StrEnum):
    PERCENT = "percent"
    AMOUNT = "amount"


class DiscountError(EngineError):
    """A value the billing core refuses (see errors.EngineError)."""


@dataclass(frozen=True)
class Discount:
    kind: DiscountKind
    value: Decimal  # a percentage (0 < v <= 100) or an amount (> 0, price currency)
    reason: str  # printed on the invoice as the allowance reason (BT-139)
    line: int | None = None  # contract line position (1-based); None: the whole contract
    from_index: int = 0  # first period it applies to
    periods: int | None = None  # how many periods; None: no count limit
    until: date | None = None  # applies to periods starting before this day; None: no date limit
    trial: bool = False

    def applies(self, index: int, period_start: date) -> bool:
        if index < self.from_index:
            return False
        if self.periods is not None and index >= self.from_index + self.periods:
            return False
        return self.until is None or period_start < self.until


def check_discount(d: Discount) -> None:
    """Raise DiscountError naming the field when ``d`` cannot be applied."""
    if d.kind is DiscountKind.PERCENT and not (0 < d.value <= HUNDRED):
        raise DiscountError(
            "value",
            gettext_noop("a percentage is more than 0 and at most 100"),
            "percentage_out_of_range",
        )
    if d.kind is DiscountKind.AMOUNT and d.value <= 0:
        raise DiscountError(
            "value",
            gettext_noop("an amount must be greater than zero"),
            "not_positive",
        )
    if d.value != d.value.quantize(Decimal("0.0001")):
        raise DiscountError("value", gettext_noop("at most 4 decimals"), "too_many_decimals")
    if d.line is not None and d.line < 1:
        raise DiscountError("line", gettext_noop("a line position starts at 1"), "min_value")
    if d.from_index < 0:
        raise DiscountError("from_index", gettext_noop("cannot be negative"), "negative")
    if d.periods is not None and d.periods < 1:
        raise DiscountError("periods", gettext_noop("at least one period"), "min_value")
    if d.periods is None and d.until is None and d.trial:
        raise DiscountError(
            "periods",
            gettext_noop("a trial lasts a number of periods or until a date"),
            "trial_without_end",
        )
    if not d.reason.strip():
        raise DiscountError(
            "reason",
            gettext_noop("give the reason printed on the invoice"),
            "required",
        )


@dataclass(frozen=True)
class Allowance:
    """What one discount takes off one invoice line (a BG-27 line allowance)."""

    position: int  # the line's position on the invoice (1-based)
    amount: Decimal  # invoice currency, 2 decimals, > 0
    reason: str
    trial: bool
    percent: Decimal | None = None  # the discount's percentage, None for a fixed amount


def line_allowances(
    nets: Sequence[Decimal],
    discounts: Sequence[Discount],
    *,
    index: int,
    period_start: date,
    amount_rate: Decimal | None = None,
) -> tuple[Allowance, ...]:
    """The allowances of period ``index`` on lines whose nets (rounded once) are ``nets``.

    ``amount_rate``: invoice-currency units per price-currency unit when they differ (fixed
    amounts are converted and rounded once); None when the currencies are the same.
    """
    left = [n if n > 0 else ZERO for n in nets]
    out: list[Allowance] = []
    for d in discounts:
        if not d.applies(index, period_start):
            continue
        if d.line is not None:
            targets = [d.line - 1] if d.line <= len(nets) else []
        else:
            targets = list(range(len(nets)))
        targets = [i for i in targets if left[i] > 0]
        if not targets:
            continue
        base = sum((left[i] for i in targets), ZERO)
        if d.kind is DiscountKind.PERCENT:
            whole = round_money(base * d.value / HUNDRED)
        else:
            value = d.value * amount_rate if amount_rate is not None else d.value
            whole = round_money(value)
        whole = min(whole, base)
        parts = [whole] if len(targets) == 1 else allocate(whole, [left[i] for i in targets])
        for i, part in zip(targets, parts, strict=True):
            part = min(part, left[i])  # allocate follows the weights: never above a line's rest
            if part > 0:
                left[i] -= part
                pct = d.value if d.kind is DiscountKind.PERCENT else None
                out.append(Allowance(i + 1, part, d.reason, d.trial, pct))
    return tuple(out)
