"""A contract snapshot and a period in, an invoice draft out (no numbers: those come at issue)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from .discounts import Allowance, Discount, line_allowances
from .errors import EngineError, gettext_noop
from .money import MoneyError, round_price
from .vat import LineInput, Totals, VatCategory, VatRateCode, compute_totals, line_net, rate_on


@dataclass(frozen=True)
class LineTerms:
    """One contract line as it stands for the period being invoiced."""

    name: str
    description: str
    unit_code: str  # UN/ECE Rec. 20
    unit_name: str
    quantity: Decimal
    unit_price: Decimal  # in the price currency
    vat_category: VatCategory
    vat_rate_code: VatRateCode
    product_code: str = ""


@dataclass(frozen=True)
class DraftLine:
    position: int
    name: str
    description: str
    unit_code: str
    unit_name: str
    quantity: Decimal
    unit_price: Decimal  # in the invoice currency
    vat_category: VatCategory
    vat_rate: Decimal
    net: Decimal  # quantity x unit price rounded once, minus the allowances
    product_code: str
    allowances: tuple[Allowance, ...] = ()  # discounts on this line (BG-27)


@dataclass(frozen=True)
class Draft:
    issue_date: date
    due_date: date
    currency: str  # invoice currency
    price_currency: str
    fx_rate: Decimal | None  # RON per 1 unit of the foreign currency involved
    fx_date: date | None
    lines: tuple[DraftLine, ...]
    totals: Totals


class DraftError(EngineError):
    """A value the billing core refuses (see errors.EngineError)."""


def draft_invoice(
    *,
    lines: Sequence[LineTerms],
    issue_date: date,
    payment_term_days: int,
    price_currency: str,
    invoice_currency: str,
    fx_rate: Decimal | None = None,
    fx_date: date | None = None,
    seller_vat_payer: bool = True,
    charges: Sequence[LineTerms] = (),
    discounts: Sequence[Discount] = (),
    period_index: int = 0,
    period_start: date | None = None,
) -> Draft:
    """Price the lines for ``issue_date``.

    - invoice currency == price currency, RON: no rate;
    - invoice currency == price currency, foreign: the rate is kept and VAT is also stated in RON;
    - price in a foreign currency, invoice in RON: unit prices converted at the rate
      (kept to 4 decimals, then each line net is rounded once from the printed price).
    A seller that is not a VAT payer invoices everything under category O.
    ``charges``: one-off charges (quantity > 0) and credits (quantity < 0) added after the
    contract lines; a credit never takes the invoice below zero.
    ``discounts``: the contract's discounts and trials (engine.discounts), applied to the
    contract lines of period ``period_index`` starting ``period_start`` as line allowances.
    """
    if not lines:
        raise DraftError(
            "lines",
            gettext_noop("a contract needs at least one line to be invoiced"),
            "no_lines",
        )
    if payment_term_days < 0:
        raise DraftError("payment_term_days", gettext_noop("cannot be negative"), "negative")
    foreign = price_currency != "RON" or invoice_currency != "RON"
    if price_currency != invoice_currency and invoice_currency != "RON":
        raise DraftError(
            "currency",
            gettext_noop(
                "prices in %(price_currency)s can be invoiced in %(price_currency2)s or RON"
            ),
            "currency_mismatch",
            price_currency=price_currency,
            price_currency2=price_currency,
        )
    if foreign and (fx_rate is None or fx_rate <= 0):
        raise DraftError(
            "fx_rate",
            gettext_noop("no BNR rate for %(price_currency)s on %(value)s"),
            "no_bnr_rate",
            price_currency=price_currency,
            value=issue_date.isoformat(),
        )
    convert = price_currency != invoice_currency
    out: list[DraftLine] = []
    inputs: list[LineInput] = []
    n_lines = len(lines)
    for pos, term in enumerate([*lines, *charges], start=1):
        if pos <= n_lines and term.quantity <= 0:
            raise DraftError(
                f"lines[{pos}].quantity",
                gettext_noop("must be greater than zero"),
                "not_positive",
            )
        if term.quantity == 0:
            raise DraftError(
                f"charges[{pos - n_lines}].quantity", gettext_noop("cannot be zero"), "zero"
            )
        if term.unit_price < 0:
            raise MoneyError(
                f"lines[{pos}].unit_price", gettext_noop("cannot be negative"), "negative"
            )
        price = round_price(term.unit_price * fx_rate) if convert and fx_rate else term.unit_price
        if seller_vat_payer:
            cat, pct = term.vat_category, rate_on(term.vat_category, term.vat_rate_code, issue_date)
        else:
            cat, pct = VatCategory.OUTSIDE_SCOPE, Decimal("0")
        li = LineInput(term.quantity, price, cat, pct)
        inputs.append(li)
        out.append(
            DraftLine(
                position=pos,
                name=term.name,
                description=term.description,
                unit_code=term.unit_code,
                unit_name=term.unit_name,
                quantity=term.quantity,
                unit_price=price,
                vat_category=cat,
                vat_rate=pct,
                net=Decimal(0),
                product_code=term.product_code,
            )
        )
    allowances: tuple[Allowance, ...] = ()
    if discounts:
        allowances = line_allowances(
            [line_net(li.quantity, li.unit_price) for li in inputs[:n_lines]],
            discounts,
            index=period_index,
            period_start=period_start or issue_date,
            amount_rate=fx_rate if convert else None,
        )
        off: dict[int, Decimal] = {}
        for a in allowances:
            off[a.position] = off.get(a.position, Decimal(0)) + a.amount
        inputs = [
            LineInput(li.quantity, li.unit_price, li.category, li.rate, off.get(pos, Decimal(0)))
            for pos, li in enumerate(inputs, start=1)
        ]
    totals = compute_totals(inputs, fx_rate if invoice_currency != "RON" else None)
    if totals.net < 0:
        raise DraftError(
            "charges",
            gettext_noop("the credits are larger than the invoice they would go on"),
            "credits_exceed_invoice",
        )
    priced = tuple(
        DraftLine(
            **{
                **d.__dict__,
                "net": net,
                "allowances": tuple(a for a in allowances if a.position == d.position),
            }
        )
        for d, net in zip(out, totals.line_nets, strict=True)
    )
    return Draft(
        issue_date=issue_date,
        due_date=issue_date + timedelta(days=payment_term_days),
        currency=invoice_currency,
        price_currency=price_currency,
        fx_rate=fx_rate if foreign else None,
        fx_date=fx_date if foreign else None,
        lines=priced,
        totals=totals,
    )
