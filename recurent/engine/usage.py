"""Variable (metered) quantities: what a period's usage costs, in lines an invoice can carry.

Rules, stated once:
- A meter read by index (electricity, water): the period's quantity is the new reading minus
  the previous one; a reading below the previous one is refused (a meter replaced or wound
  back is corrected by hand, not invoiced as a negative quantity).
- Tiers ("the first 100 units at 1.50, the rest at 1.20"): each tier has the cumulative upper
  bound of its band; the last band has no bound (a bound given there is ignored: usage beyond
  the last bound is priced at the last tier's price). Each band becomes one invoice line,
  priced and rounded by the same rule as every line (vat.line_net: quantity x price, once).
- A minimum charge: when the bands' nets add up to less, one more line of quantity 1 carries
  the difference, so that the invoice shows what was used and what the minimum added.
- A period without data: wait for it up to a cut-off date, or invoice a default quantity
  (``period_quantity``). Zero usage gives no usage line (e-Factura refuses a zero line only
  for some validators; an empty band says nothing); the minimum, if any, still applies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import EngineError, gettext_noop
from .vat import line_net

ZERO = Decimal(0)


class UsageError(EngineError):
    """A usage value or setting the core refuses (see errors.EngineError)."""


class UsageMissing(EngineError):
    """A variable line has no usage for the period yet and the contract waits for it."""


@dataclass(frozen=True)
class Tier:
    up_to: Decimal | None  # cumulative upper bound of the band; None: everything above
    unit_price: Decimal


@dataclass(frozen=True)
class Band:
    """One invoice line of a variable line: ``tier`` 1, 2, ...; 0 is the minimum top-up."""

    tier: int
    quantity: Decimal
    unit_price: Decimal


def _dec(value: Any, field: str) -> Decimal:
    if isinstance(value, float) or isinstance(value, bool):
        raise UsageError(field, gettext_noop("not a number: %(value)s"), "invalid", value=value)
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise UsageError(
            field, gettext_noop("not a number: %(value)s"), "invalid", value=str(value)[:40]
        ) from None
    if not d.is_finite():
        raise UsageError(field, gettext_noop("not a number: %(value)s"), "invalid", value=str(d))
    return d


def parse_tiers(raw: Iterable[Any] | None) -> tuple[Tier, ...]:
    """Tiers from their stored form ``[{"up_to": "100", "unit_price": "1.5"}, ...]``.

    Bounds rise strictly and are positive; only the last band may be unbounded; prices are
    not negative. An empty list: no tiers (the line's own price applies)."""
    out: list[Tier] = []
    for i, t in enumerate(raw or [], start=1):
        field = f"tiers[{i}]"
        if not isinstance(t, dict) or "unit_price" not in t:
            raise UsageError(
                field, gettext_noop("a tier has an upper bound and a unit price"), "invalid"
            )
        price = _dec(t["unit_price"], f"{field}.unit_price")
        if price < 0:
            raise UsageError(f"{field}.unit_price", gettext_noop("cannot be negative"), "negative")
        bound = t.get("up_to")
        up_to = None if bound in (None, "") else _dec(bound, f"{field}.up_to")
        if up_to is not None and up_to <= 0:
            raise UsageError(
                f"{field}.up_to", gettext_noop("must be greater than zero"), "not_positive"
            )
        if out and out[-1].up_to is None:
            raise UsageError(
                field, gettext_noop("only the last tier can be without an upper bound"), "order"
            )
        prev = out[-1].up_to if out else None
        if up_to is not None and prev is not None and up_to <= prev:
            raise UsageError(
                f"{field}.up_to",
                gettext_noop("must be greater than the previous tier's (%(previous)s)"),
                "order",
                previous=str(prev),
            )
        out.append(Tier(up_to, price))
    return tuple(out)


def tiers_json(tiers: Sequence[Tier]) -> list[dict[str, str | None]]:
    return [
        {"up_to": None if t.up_to is None else str(t.up_to), "unit_price": str(t.unit_price)}
        for t in tiers
    ]


def reading_quantity(*, previous: Decimal, current: Decimal) -> Decimal:
    """The quantity a meter read by index used between two readings."""
    if previous < 0:
        raise UsageError("previous", gettext_noop("cannot be negative"), "negative")
    if current < previous:
        raise UsageError(
            "reading",
            gettext_noop("the new reading %(current)s is below the previous one (%(previous)s)"),
            "below_previous",
            current=str(current),
            previous=str(previous),
        )
    return current - previous


def bands(
    *, quantity: Decimal, unit_price: Decimal, tiers: Sequence[Tier] = (), minimum: Decimal | None
) -> tuple[Band, ...]:
    """The lines ``quantity`` of a variable line is invoiced as (zero-quantity bands left out)."""
    if quantity < 0:
        raise UsageError("quantity", gettext_noop("cannot be negative"), "negative")
    out: list[Band] = []
    if not tiers:
        if quantity > 0:
            out.append(Band(1, quantity, unit_price))
    else:
        below = ZERO
        for n, t in enumerate(tiers, start=1):
            last = n == len(tiers)
            top = quantity if last or t.up_to is None else min(quantity, t.up_to)
            q = top - below
            if q > 0:
                out.append(Band(n, q, t.unit_price))
            below = max(below, top)
            if below >= quantity:
                break
    charged = sum((line_net(b.quantity, b.unit_price) for b in out), ZERO)
    if minimum is not None and charged < minimum:
        out.append(Band(0, Decimal(1), minimum - charged))
    return tuple(out)


def charge(bs: Sequence[Band]) -> Decimal:
    """What the bands come to, as the invoice rounds them (one line net each)."""
    return sum((line_net(b.quantity, b.unit_price) for b in bs), ZERO)


def period_quantity(
    *,
    recorded: Decimal | None,
    wait: bool,
    default: Decimal | None,
    issue_date: date,
    cutoff: date,
    field: str = "quantity",
) -> Decimal:
    """The quantity to invoice for a period: what was recorded; without records, the default
    quantity (zero if none), unless the contract waits for data and the cut-off is not
    reached (then ``UsageMissing``, which sets the contract aside until the next run)."""
    if recorded is not None:
        return recorded
    if wait and issue_date < cutoff:
        raise UsageMissing(
            field,
            gettext_noop("waiting for readings (at most until %(cutoff)s)"),
            "waiting_for_readings",
            cutoff=cutoff.isoformat(),
        )
    return default if default is not None else ZERO
