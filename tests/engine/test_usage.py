"""Variable quantities in the pure engine: tiers, the minimum charge, readings, wait/default."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recurent.engine.drafting import LineTerms, draft_invoice
from recurent.engine.usage import (
    Tier,
    UsageError,
    UsageMissing,
    bands,
    charge,
    parse_tiers,
    period_quantity,
    reading_quantity,
    tiers_json,
)
from recurent.engine.vat import VatCategory, VatRateCode, line_net

qty = st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=4)
price = st.decimals(min_value=Decimal("0"), max_value=Decimal("1000"), places=4)
money = st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=2)


@st.composite
def tier_lists(draw):  # type: ignore[no-untyped-def]
    bounds = sorted(set(draw(st.lists(st.integers(1, 10_000), min_size=0, max_size=4))))
    prices = draw(st.lists(price, min_size=len(bounds) + 1, max_size=len(bounds) + 1))
    tiers = [Tier(Decimal(b), p) for b, p in zip(bounds, prices, strict=False)]
    return (*tiers, Tier(None, prices[-1]))


@settings(max_examples=300, deadline=None)
@given(q=qty, tiers=tier_lists(), minimum=st.none() | money)
def test_the_bands_cover_the_quantity_exactly_and_the_charge_is_at_least_the_minimum(
    q, tiers, minimum
):
    bs = bands(quantity=q, unit_price=Decimal("1"), tiers=tiers, minimum=minimum)
    used = [b for b in bs if b.tier]
    assert sum((b.quantity for b in used), Decimal(0)) == q
    assert all(b.quantity > 0 for b in bs)
    assert [b.tier for b in used] == sorted(b.tier for b in used)
    for b in used:  # each band lies inside its tier
        t = tiers[b.tier - 1]
        low = tiers[b.tier - 2].up_to if b.tier > 1 else Decimal(0)
        assert b.unit_price == t.unit_price
        assert t.up_to is None or b.tier == len(tiers) or b.quantity <= t.up_to - low
    total = charge(bs)
    if minimum is not None:
        assert total >= minimum
        # The top-up is only what is missing: without it the charge was below the minimum.
        assert all(b.tier for b in bs) or charge(used) < minimum
        if not all(b.tier for b in bs):
            assert total == minimum


@settings(max_examples=200, deadline=None)
@given(a=qty, b=qty, tiers=tier_lists())
def test_more_usage_never_costs_less(a, b, tiers):
    lo, hi = sorted((a, b))
    assert charge(bands(quantity=lo, unit_price=Decimal(1), tiers=tiers, minimum=None)) <= charge(
        bands(quantity=hi, unit_price=Decimal(1), tiers=tiers, minimum=None)
    )


@settings(max_examples=200, deadline=None)
@given(q=qty, p=price)
def test_without_tiers_a_variable_line_is_quantity_times_price(q, p):
    assert charge(bands(quantity=q, unit_price=p, tiers=(), minimum=None)) == line_net(q, p)


@settings(max_examples=200, deadline=None)
@given(prev=qty, used=qty)
def test_a_reading_gives_back_the_usage_between_two_indexes(prev, used):
    assert reading_quantity(previous=prev, current=prev + used) == used


def test_a_reading_below_the_previous_one_is_refused():
    with pytest.raises(UsageError) as e:
        reading_quantity(previous=Decimal("100"), current=Decimal("99.9"))
    assert (e.value.field, e.value.code) == ("reading", "below_previous")


def test_tiers_read_back_what_they_store_and_refuse_bad_orders():
    raw = [{"up_to": "100", "unit_price": "1.5"}, {"up_to": None, "unit_price": "1.2"}]
    assert tiers_json(parse_tiers(raw)) == raw
    for bad, field in [
        (
            [{"up_to": "100", "unit_price": "1"}, {"up_to": "100", "unit_price": "1"}],
            "tiers[2].up_to",
        ),
        ([{"up_to": None, "unit_price": "1"}, {"up_to": "5", "unit_price": "1"}], "tiers[2]"),
        ([{"up_to": "5", "unit_price": "-1"}], "tiers[1].unit_price"),
        ([{"up_to": "0", "unit_price": "1"}], "tiers[1].up_to"),
        ([{"up_to": "1e", "unit_price": "1"}], "tiers[1].up_to"),
    ]:
        with pytest.raises(UsageError) as e:
            parse_tiers(bad)
        assert e.value.field == field


def test_the_first_100_units_at_one_price_and_the_rest_at_another():
    tiers = parse_tiers([{"up_to": "100", "unit_price": "1.50"}, {"unit_price": "1.20"}])
    bs = bands(quantity=Decimal("130"), unit_price=Decimal(9), tiers=tiers, minimum=None)
    assert [(b.quantity, b.unit_price) for b in bs] == [
        (Decimal("100"), Decimal("1.50")), (Decimal("30"), Decimal("1.20")),
    ]  # fmt: skip
    assert charge(bs) == Decimal("186.00")


def test_no_data_waits_until_the_cut_off_then_takes_the_default():
    kw = {"recorded": None, "wait": True, "default": Decimal("7"), "cutoff": date(2026, 2, 5)}
    with pytest.raises(UsageMissing) as e:
        period_quantity(issue_date=date(2026, 2, 4), **kw)
    assert e.value.code == "waiting_for_readings" and "2026-02-05" in e.value.message
    assert period_quantity(issue_date=date(2026, 2, 5), **kw) == Decimal("7")
    assert period_quantity(issue_date=date(2026, 2, 1), **{**kw, "wait": False}) == Decimal("7")
    assert period_quantity(issue_date=date(2026, 2, 1), **{**kw, "recorded": Decimal(0)}) == 0


@settings(max_examples=100, deadline=None)
@given(q=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("5000"), places=4),
       tiers=tier_lists(), minimum=st.none() | money)  # fmt: skip
def test_the_bands_priced_as_invoice_lines_add_up_to_the_charge(q, tiers, minimum):
    bs = bands(quantity=q, unit_price=Decimal(1), tiers=tiers, minimum=minimum)
    if not bs:
        return  # nothing used and no minimum: no line at all
    lines = [LineTerms("Apa", "", "MTQ", "mc", b.quantity, b.unit_price, VatCategory.STANDARD,
                       VatRateCode.STANDARD) for b in bs]  # fmt: skip
    d = draft_invoice(lines=lines, issue_date=date(2026, 3, 1), payment_term_days=15,
                      price_currency="RON", invoice_currency="RON")  # fmt: skip
    assert d.totals.net == charge(bs)
