"""Money: Decimal amounts, rounded in exactly one place.

Every amount that appears on an invoice goes through ``round_money`` once, from
unrounded inputs; nothing rounds an already rounded figure again.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
PRICE_QUANTUM = Decimal("0.0001")  # unit prices may carry 4 decimals
RATE_QUANTUM = Decimal("0.0001")  # BNR publishes 4 decimals

CURRENCIES = ("RON", "EUR", "USD", "GBP", "CHF", "HUF", "BGN", "PLN", "CZK", "SEK", "DKK", "NOK")


class MoneyError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def round_money(amount: Decimal) -> Decimal:
    """Half-up to 2 decimals: the one rounding rule for invoice amounts."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def round_price(amount: Decimal) -> Decimal:
    return amount.quantize(PRICE_QUANTUM, rounding=ROUND_HALF_UP)


def to_decimal(value: object, field: str) -> Decimal:
    """Parse a user-supplied number; floats are refused (they are not exact)."""
    if isinstance(value, float):
        raise MoneyError(field, "give the amount as a string or a decimal, not a float")
    if isinstance(value, bool):
        raise MoneyError(field, "not a number")
    try:
        text = value.strip().replace(",", ".") if isinstance(value, str) else str(value)
        d = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        raise MoneyError(field, f"{value!r} is not a number") from None
    if not d.is_finite():
        raise MoneyError(field, f"{value!r} is not a finite number")
    return d


def check_currency(code: str, field: str = "currency") -> str:
    code = (code or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise MoneyError(field, f"{code!r} is not an ISO 4217 currency code")
    return code
