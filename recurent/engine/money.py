"""Money: Decimal amounts, rounded in exactly one place.

Every amount that appears on an invoice goes through ``round_money`` once, from
unrounded inputs; nothing rounds an already rounded figure again.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .errors import EngineError, gettext_noop

CENT = Decimal("0.01")
PRICE_QUANTUM = Decimal("0.0001")  # unit prices may carry 4 decimals
RATE_QUANTUM = Decimal("0.0001")  # BNR publishes 4 decimals

CURRENCIES = ("RON", "EUR", "USD", "GBP", "CHF", "HUF", "BGN", "PLN", "CZK", "SEK", "DKK", "NOK")


class MoneyError(EngineError):
    """A value the billing core refuses (see errors.EngineError)."""


def round_money(amount: Decimal) -> Decimal:
    """Half-up to 2 decimals: the one rounding rule for invoice amounts."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def round_price(amount: Decimal) -> Decimal:
    return amount.quantize(PRICE_QUANTUM, rounding=ROUND_HALF_UP)


def to_decimal(value: object, field: str) -> Decimal:
    """Parse a user-supplied number; floats are refused (they are not exact)."""
    if isinstance(value, float):
        raise MoneyError(
            field,
            gettext_noop("give the amount as a string or a decimal, not a float"),
            "float_refused",
        )
    if isinstance(value, bool):
        raise MoneyError(field, gettext_noop("not a number"), "not_a_number")
    try:
        text = value.strip().replace(",", ".") if isinstance(value, str) else str(value)
        d = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        raise MoneyError(
            field, gettext_noop("%(value)s is not a number"), "not_a_number", value=repr(value)
        ) from None
    if not d.is_finite():
        raise MoneyError(
            field,
            gettext_noop("%(value)s is not a finite number"),
            "not_a_number",
            value=repr(value),
        )
    return d


def check_currency(code: str, field: str = "currency") -> str:
    code = (code or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise MoneyError(
            field,
            gettext_noop("%(value)s is not an ISO 4217 currency code"),
            "not_a_currency",
            value=repr(code),
        )
    return code


def allocate(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split a rounded ``total`` over ``weights`` in cents so that the parts add up to it exactly
    (largest remainder). Used where a figure computed once (a VAT group's VAT) is shown per
    line: the lines get shares of the one rounded figure instead of being rounded again."""
    if not weights:
        return []
    cents = int((total / CENT).to_integral_value())
    whole = sum(weights, Decimal(0))
    if whole == 0:
        # No proportion to follow: everything on the first part.
        return [total] + [Decimal("0.00")] * (len(weights) - 1)
    exact = [Decimal(cents) * w / whole for w in weights]
    floors = [int(x.to_integral_value(rounding="ROUND_FLOOR")) for x in exact]
    left = cents - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (floors[i] - exact[i], i))
    for i in order[:left]:
        floors[i] += 1
    return [(Decimal(c) * CENT).quantize(CENT) for c in floors]
