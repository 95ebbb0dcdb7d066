"""Discounts and trials in the pure engine: never a negative line, totals = lines - allowances."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recurent.engine.discounts import (
    Discount,
    DiscountError,
    DiscountKind,
    check_discount,
    line_allowances,
)
from recurent.engine.drafting import LineTerms, draft_invoice
from recurent.engine.money import round_money
from recurent.engine.vat import VatCategory, VatRateCode, line_net

DAY = date(2026, 3, 1)
qty = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1000"), places=4)
price = st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=4)
rate = st.sampled_from([VatRateCode.STANDARD, VatRateCode.REDUCED])
terms = st.lists(
    st.builds(
        lambda q, p, r: LineTerms("X", "", "C62", "buc", q, p, VatCategory.STANDARD, r),
        qty, price, rate,
    ),
    min_size=1,
    max_size=6,
)  # fmt: skip
discount = st.builds(
    Discount,
    kind=st.sampled_from(list(DiscountKind)),
    value=st.one_of(
        st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("100"), places=4),
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2),
    ),
    reason=st.just("Discount"),
    line=st.one_of(st.none(), st.integers(1, 7)),
    from_index=st.integers(0, 3),
    periods=st.one_of(st.none(), st.integers(1, 4)),
)


def _valid(ds):
    return [d for d in ds if d.kind is DiscountKind.AMOUNT or d.value <= 100]


@settings(deadline=None, max_examples=300)
@given(terms, st.lists(discount, max_size=4), st.integers(0, 6))
def test_a_discount_never_makes_a_line_negative_and_totals_are_lines_minus_allowances(
    ls, ds, index
):
    ds = _valid(ds)
    d = draft_invoice(lines=ls, issue_date=DAY, payment_term_days=15, price_currency="RON",
                      invoice_currency="RON", discounts=ds, period_index=index)  # fmt: skip
    gross = [line_net(t.quantity, t.unit_price) for t in ls]
    off = [sum((a.amount for a in li.allowances), Decimal(0)) for li in d.lines]
    for li, g, o in zip(d.lines, gross, off, strict=True):
        assert li.net >= 0 and li.net == g - o
        assert all(a.amount > 0 and a.amount == round_money(a.amount) for a in li.allowances)
    assert d.totals.net == sum(gross) - sum(off)
    # VAT per group on the discounted bases, rounded once per group
    for g in d.totals.groups:
        base = sum((li.net for li in d.lines if li.vat_rate == g.rate), Decimal(0))
        assert g.base == base and g.vat == round_money(base * g.rate / 100)
    assert d.totals.gross == d.totals.net + d.totals.vat


@settings(deadline=None, max_examples=300)
@given(st.lists(st.decimals(min_value=Decimal("0"), max_value=Decimal("9999"), places=2),
                min_size=1, max_size=8),
       st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("100"), places=4))  # fmt: skip
def test_a_contract_percentage_is_rounded_once_and_split_in_cents(nets, pct):
    d = Discount(DiscountKind.PERCENT, pct, "Promo")
    out = line_allowances(nets, [d], index=0, period_start=DAY)
    assert sum(a.amount for a in out) == round_money(sum(nets) * pct / 100)
    for a in out:
        assert a.amount <= nets[a.position - 1]


def test_a_trial_of_two_free_periods_then_the_normal_price():
    line = LineTerms("Hosting", "", "MON", "lună", Decimal(1), Decimal("99.90"),
                     VatCategory.STANDARD, VatRateCode.STANDARD)  # fmt: skip
    trial = Discount(DiscountKind.PERCENT, Decimal(100), "Perioadă de probă", periods=2, trial=True)
    nets = [
        draft_invoice(lines=[line], issue_date=DAY, payment_term_days=0, price_currency="RON",
                      invoice_currency="RON", discounts=[trial], period_index=i).totals.gross
        for i in range(3)
    ]  # fmt: skip
    assert nets == [Decimal("0.00"), Decimal("0.00"), Decimal("120.88")]


def test_a_fixed_amount_in_eur_on_an_invoice_in_ron_is_converted_and_rounded_once():
    line = LineTerms("Licence", "", "C62", "buc", Decimal(1), Decimal("100"),
                     VatCategory.STANDARD, VatRateCode.STANDARD)  # fmt: skip
    off = Discount(DiscountKind.AMOUNT, Decimal("10.005"), "Loyalty")
    d = draft_invoice(lines=[line], issue_date=DAY, payment_term_days=0, price_currency="EUR",
                      invoice_currency="RON", fx_rate=Decimal("5.0813"), discounts=[off])  # fmt: skip
    assert d.lines[0].unit_price == Decimal("508.1300")
    assert d.lines[0].allowances[0].amount == Decimal("50.84")  # 10.005 x 5.0813 = 50.838...
    assert d.totals.net == Decimal("457.29")


def test_a_discount_until_a_date_stops_at_the_period_starting_on_it():
    d = Discount(DiscountKind.PERCENT, Decimal(10), "Launch", until=date(2026, 4, 1))
    assert d.applies(5, date(2026, 3, 31)) and not d.applies(6, date(2026, 4, 1))


def test_a_line_discount_touches_its_line_only_and_credits_are_never_discounted():
    d = Discount(DiscountKind.AMOUNT, Decimal(500), "Big", line=2)
    out = line_allowances([Decimal(100), Decimal(40), Decimal(-30)], [d], index=0, period_start=DAY)
    assert [(a.position, a.amount) for a in out] == [(2, Decimal(40))]


@pytest.mark.parametrize(
    ("field", "d"),
    [
        ("value", Discount(DiscountKind.PERCENT, Decimal(101), "x")),
        ("value", Discount(DiscountKind.AMOUNT, Decimal(0), "x")),
        ("periods", Discount(DiscountKind.PERCENT, Decimal(100), "x", trial=True)),
        ("line", Discount(DiscountKind.PERCENT, Decimal(5), "x", line=0)),
        ("reason", Discount(DiscountKind.PERCENT, Decimal(5), " ")),
    ],
)
def test_a_discount_that_cannot_apply_is_refused_naming_the_field(field, d):
    with pytest.raises(DiscountError) as e:
        check_discount(d)
    assert e.value.field == field
