"""Property tests of the money rules: line nets, VAT per group rounded once, totals."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recurent.engine.money import MoneyError, round_money, to_decimal
from recurent.engine.vat import (
    LineInput,
    VatCategory,
    VatError,
    VatRateCode,
    compute_totals,
    parse_category,
    parse_rate_code,
    rate_on,
)

qty = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("10000"), places=4)
price = st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=4)
rates = st.sampled_from(
    [Decimal("21"), Decimal("11"), Decimal("19"), Decimal("9"), Decimal("5"), Decimal("0")]
)
lines = st.lists(
    st.builds(
        lambda q, p, r: LineInput(q, p, VatCategory.STANDARD if r else VatCategory.EXEMPT, r),
        qty,
        price,
        rates,
    ),
    min_size=1,
    max_size=12,
)


@given(lines)
def test_totals_add_up_and_have_two_decimals(ls):
    t = compute_totals(ls)
    assert t.net == sum(t.line_nets)
    assert t.gross == t.net + t.vat
    assert t.vat == sum(g.vat for g in t.groups)
    for amount in (t.net, t.vat, t.gross, *t.line_nets, *(g.base for g in t.groups)):
        assert amount == amount.quantize(Decimal("0.01"))


@given(lines)
def test_vat_is_rounded_once_per_group_from_the_sum_of_line_nets(ls):
    t = compute_totals(ls)
    for g in t.groups:
        members = [
            n
            for li, n in zip(ls, t.line_nets, strict=True)
            if (li.category, li.rate) == (g.category, g.rate)
        ]
        assert g.base == sum(members)
        assert g.vat == round_money(g.base * g.rate / 100)
    assert len({(g.category, g.rate) for g in t.groups}) == len(t.groups)


@given(lines, st.decimals(min_value=Decimal("0.01"), max_value=Decimal("10"), places=4))
def test_vat_in_ron_is_rounded_once_from_unrounded_amounts(ls, fx):
    t = compute_totals(ls, fx)
    assert t.vat_ron_groups is not None
    for g, ron in zip(t.groups, t.vat_ron_groups, strict=True):
        assert ron == round_money(g.base * g.rate / 100 * fx)
    assert t.vat_ron == sum(t.vat_ron_groups)


def test_half_up_rounding():
    assert round_money(Decimal("0.005")) == Decimal("0.01")
    assert round_money(Decimal("2.675")) == Decimal("2.68")  # a float would give 2.67
    assert round_money(Decimal("-0.005")) == Decimal("-0.01")


def test_rates_by_date():
    s, r = VatCategory.STANDARD, VatRateCode
    assert rate_on(s, r.STANDARD, date(2025, 7, 31)) == 19
    assert rate_on(s, r.STANDARD, date(2025, 8, 1)) == 21
    assert rate_on(s, r.REDUCED, date(2025, 7, 31)) == 9
    assert rate_on(s, r.REDUCED, date(2025, 8, 1)) == 11
    assert rate_on(s, r.REDUCED_LOW, date(2025, 7, 31)) == 5
    assert rate_on(s, r.REDUCED_LOW, date(2025, 8, 1)) == 11
    assert rate_on(VatCategory.REVERSE_CHARGE, r.ZERO, date(2026, 1, 1)) == 0


def test_unknown_rate_or_category_and_floats_are_refused():
    with pytest.raises(VatError, match="vat_rate"):
        parse_rate_code("19%")
    with pytest.raises(VatError, match="vat_category"):
        parse_category("X")
    with pytest.raises(VatError, match="vat_rate"):
        rate_on(VatCategory.STANDARD, VatRateCode.ZERO, date(2026, 1, 1))
    with pytest.raises(MoneyError, match="float"):
        to_decimal(0.1, "unit_price")
    assert to_decimal("12,50", "unit_price") == Decimal("12.50")
