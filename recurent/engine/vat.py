"""VAT: effective-dated rates and the per-(category, rate) breakdown of an invoice.

A product carries a VAT *category* (UNCL5305) and a *rate code* (standard,
reduced...). The percentage comes from the date the tax becomes due (the invoice
date), so a contract that spans a legal change is invoiced at the old rate before
it and the new one after it (Law 141/2025: 19% -> 21% and 9%/5% -> 11% on 2025-08-01).
VAT is computed per group on the sum of that group's line nets and rounded once.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .errors import EngineError, gettext_noop
from .money import round_money


class VatCategory(enum.StrEnum):
    STANDARD = "S"
    ZERO = "Z"
    EXEMPT = "E"
    REVERSE_CHARGE = "AE"
    INTRA_EU = "K"
    EXPORT = "G"
    OUTSIDE_SCOPE = "O"


# Categories that carry no VAT amount (rate 0 on the invoice).
ZERO_RATED = {c for c in VatCategory if c is not VatCategory.STANDARD}


class VatRateCode(enum.StrEnum):
    STANDARD = "standard"
    REDUCED = "reduced"  # 9% until 2025-07-31, 11% after
    REDUCED_LOW = "reduced-low"  # 5% until 2025-07-31, 11% after
    ZERO = "zero"  # for categories other than S


class VatError(EngineError):
    """A value the billing core refuses (see errors.EngineError)."""


# (first day in force, percentage); each list sorted by date.
RATE_TABLE: dict[VatRateCode, list[tuple[date, Decimal]]] = {
    VatRateCode.STANDARD: [
        (date(2017, 1, 1), Decimal("19")),
        (date(2025, 8, 1), Decimal("21")),
    ],
    VatRateCode.REDUCED: [
        (date(2017, 1, 1), Decimal("9")),
        (date(2025, 8, 1), Decimal("11")),
    ],
    VatRateCode.REDUCED_LOW: [
        (date(2017, 1, 1), Decimal("5")),
        (date(2025, 8, 1), Decimal("11")),
    ],
}

# Legal basis printed for the categories that need one (BT-120, CIUS-RO asks for it).
EXEMPTION_REASONS: dict[VatCategory, tuple[str, str]] = {
    VatCategory.EXEMPT: ("VATEX-EU-132", "Scutit conform art. 292 din Codul fiscal"),
    VatCategory.REVERSE_CHARGE: ("VATEX-EU-AE", "Taxare inversă conform art. 331 din Codul fiscal"),
    VatCategory.INTRA_EU: (
        "VATEX-EU-IC",
        "Livrare intracomunitară scutită conform art. 294 alin. (2)",
    ),
    VatCategory.EXPORT: ("VATEX-EU-G", "Export scutit conform art. 294 alin. (1)"),
    VatCategory.OUTSIDE_SCOPE: ("VATEX-EU-O", "Neplătitor de TVA / operațiune în afara sferei TVA"),
    VatCategory.ZERO: ("", ""),
}


def parse_category(value: str, field: str = "vat_category") -> VatCategory:
    try:
        return VatCategory((value or "").strip().upper())
    except ValueError:
        names = ", ".join(c.value for c in VatCategory)
        raise VatError(
            field,
            gettext_noop("unknown VAT category %(value)s; expected one of %(names)s"),
            "unknown_vat_category",
            value=repr(value),
            names=names,
        ) from None


def parse_rate_code(value: str, field: str = "vat_rate") -> VatRateCode:
    try:
        return VatRateCode((value or "").strip().lower())
    except ValueError:
        names = ", ".join(c.value for c in VatRateCode)
        raise VatError(
            field,
            gettext_noop("unknown VAT rate %(value)s; expected one of %(names)s"),
            "unknown_vat_rate",
            value=repr(value),
            names=names,
        ) from None


def check_pair(category: VatCategory, code: VatRateCode) -> None:
    if category is VatCategory.STANDARD and code is VatRateCode.ZERO:
        raise VatError(
            "vat_rate",
            gettext_noop("category S (standard) needs a non-zero rate"),
            "zero_rate_for_standard",
        )
    if category is not VatCategory.STANDARD and code is not VatRateCode.ZERO:
        raise VatError(
            "vat_rate",
            gettext_noop("category %(value)s is invoiced at rate 'zero'"),
            "nonzero_rate_for_category",
            value=category.value,
        )


def rate_on(category: VatCategory, code: VatRateCode, on: date) -> Decimal:
    """The percentage in force on ``on`` for a (category, rate code)."""
    check_pair(category, code)
    if category is not VatCategory.STANDARD:
        return Decimal("0")
    table = RATE_TABLE[code]
    if on < table[0][0]:
        raise VatError(
            "vat_rate",
            gettext_noop("no %(value)s VAT rate is known for %(value2)s"),
            "no_vat_rate",
            value=code.value,
            value2=on.isoformat(),
        )
    pct = table[0][1]
    for since, value in table:
        if on >= since:
            pct = value
    return pct


@dataclass(frozen=True)
class LineInput:
    quantity: Decimal
    unit_price: Decimal
    category: VatCategory
    rate: Decimal  # percentage in force
    # Line allowances (discounts, engine.discounts), already rounded: the line's net is
    # quantity x price rounded once, minus this.
    allowance: Decimal = Decimal("0")


@dataclass(frozen=True)
class VatGroup:
    category: VatCategory
    rate: Decimal
    base: Decimal  # sum of rounded line nets
    vat: Decimal  # rounded once


@dataclass(frozen=True)
class Totals:
    line_nets: tuple[Decimal, ...]
    groups: tuple[VatGroup, ...]
    net: Decimal
    vat: Decimal
    gross: Decimal
    # VAT in RON per group and in total when the invoice currency is not RON.
    vat_ron_groups: tuple[Decimal, ...] | None = None
    vat_ron: Decimal | None = None


def line_net(quantity: Decimal, unit_price: Decimal) -> Decimal:
    return round_money(quantity * unit_price)


def compute_totals(lines: Sequence[LineInput], fx_to_ron: Decimal | None = None) -> Totals:
    """Line nets, VAT groups and totals. ``fx_to_ron``: RON per unit of the invoice currency.

    VAT in RON is computed per group from the group base x rate x fx and rounded once
    (not converted from the rounded VAT), then summed.
    """
    nets = tuple(line_net(li.quantity, li.unit_price) - li.allowance for li in lines)
    order: list[tuple[VatCategory, Decimal]] = []
    bases: dict[tuple[VatCategory, Decimal], Decimal] = {}
    for li, net in zip(lines, nets, strict=True):
        key = (li.category, li.rate)
        if key not in bases:
            order.append(key)
            bases[key] = Decimal("0")
        bases[key] += net
    groups = tuple(
        VatGroup(cat, rate, bases[(cat, rate)], round_money(bases[(cat, rate)] * rate / 100))
        for cat, rate in order
    )
    net_total = sum((g.base for g in groups), Decimal("0.00"))
    vat_total = sum((g.vat for g in groups), Decimal("0.00"))
    vat_ron_groups = vat_ron = None
    if fx_to_ron is not None:
        vat_ron_groups = tuple(round_money(g.base * g.rate / 100 * fx_to_ron) for g in groups)
        vat_ron = sum(vat_ron_groups, Decimal("0.00"))
    return Totals(
        line_nets=nets,
        groups=groups,
        net=net_total,
        vat=vat_total,
        gross=net_total + vat_total,
        vat_ron_groups=vat_ron_groups,
        vat_ron=vat_ron,
    )


def sum_groups(groups: Iterable[VatGroup]) -> Decimal:
    return sum((g.vat for g in groups), Decimal("0.00"))
