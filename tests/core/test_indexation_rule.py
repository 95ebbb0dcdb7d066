"""The yearly indexation rule (recurent.engine.indexation): dates, factors, new prices.

Pure: no database. Worked examples are computed by hand in the comments.
"""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recurent.engine.indexation import (
    DateRule,
    Factor,
    IndexationError,
    Method,
    Settings,
    check_settings,
    cpi_year_for,
    date_in,
    factor,
    index_year,
    new_prices,
    next_date,
)

CPI = {2020: Decimal("2.06"), 2021: Decimal("8.19"), 2022: Decimal("16.37"),
       2023: Decimal("6.61"), 2024: Decimal("5.14"), 2025: Decimal("9.69")}  # fmt: skip


def _s(method=Method.FIXED, **kw):
    kw.setdefault("signed_on", date(2024, 3, 15))
    if method == Method.FIXED:
        kw.setdefault("percent", Decimal("5"))
    return Settings(method=method, **kw)


def test_a_fixed_five_percent_raises_100_to_105_and_99_99_to_104_9895():
    # 100 x 1.05 = 105.0000; 99.99 x 1.05 = 104.9895 (exact at 4 decimals: nothing to round)
    f = factor(_s(), on=date(2025, 3, 15))
    assert new_prices([Decimal("100"), Decimal("99.99")], f) == [
        Decimal("105.0000"),
        Decimal("104.9895"),
    ]


def test_the_cpi_of_the_year_before_is_used_and_rounded_once_to_four_decimals():
    # Indexation on 2026-03-15 uses December 2025 vs December 2024: 9.69 %.
    # 123.4567 x 1.0969 = 135.41965323 -> 135.4197 (half up at the 4th decimal)
    f = factor(_s(Method.CPI), on=date(2026, 3, 15), cpi=CPI)
    assert f is not None and f.cpi_year == 2025 and f.percent == Decimal("9.69")
    assert new_prices([Decimal("123.4567")], f) == [Decimal("135.4197")]


def test_a_cpi_figure_not_stored_yet_gives_no_factor():
    assert factor(_s(Method.CPI), on=date(2027, 1, 10), cpi=CPI) is None  # 2026 not published


def test_deflation_leaves_prices_unchanged_but_the_figure_is_recorded():
    f = factor(_s(Method.CPI), on=date(2016, 3, 15), cpi={2015: Decimal("-0.93")})
    assert f is not None and f.value == 1 and f.percent == Decimal("-0.93")


def test_a_repeg_to_eur_follows_the_rate_from_the_base_to_the_notice_day():
    # 1000 RON at 4.9000 RON/EUR is 204.0816... EUR; at 5.0960 it is 1000 x 5.0960 / 4.9000
    # = 1040.0000 RON (5.0960 / 4.9 = 1.04 exactly)
    f = factor(
        _s(Method.EUR), on=date(2025, 3, 15), eur_base=Decimal("4.9"), eur_rate=Decimal("5.096")
    )
    assert new_prices([Decimal("1000")], f) == [Decimal("1040.0000")]


def test_the_anniversary_of_29_february_is_28_february_and_the_first_is_after_the_contract():
    s = _s(signed_on=date(2024, 2, 29))
    assert date_in(s, 2025) == date(2025, 2, 28)
    assert next_date(s, date(2024, 2, 29)) == date(2025, 2, 28)
    assert next_date(s, date(2027, 3, 1)) == date(2028, 2, 29)


def test_a_fixed_day_31_falls_on_the_last_day_of_a_short_month():
    s = _s(date_rule=DateRule.FIXED, day=31, month=4)
    assert date_in(s, 2026) == date(2026, 4, 30)
    assert next_date(s, date(2026, 5, 1)) == date(2027, 4, 30)


@pytest.mark.parametrize(
    ("kw", "field", "code"),
    [
        ({"percent": None}, "index_percent", "required"),
        ({"percent": Decimal("0")}, "index_percent", "out_of_range"),
        ({"percent": Decimal("500")}, "index_percent", "out_of_range"),
        ({"date_rule": DateRule.FIXED, "month": 13, "day": 1}, "index_month", "out_of_range"),
        ({"date_rule": DateRule.FIXED, "month": 1, "day": 0}, "index_day", "out_of_range"),
        ({"notice_days": 400}, "index_notice_days", "out_of_range"),
    ],
)
def test_settings_that_cannot_work_are_refused_on_their_field(kw, field, code):
    with pytest.raises(IndexationError) as e:
        check_settings(_s(**kw))
    assert (e.value.field, e.value.code) == (field, code)


def test_a_repeg_to_eur_is_refused_for_a_contract_priced_in_eur():
    with pytest.raises(IndexationError) as e:
        check_settings(_s(Method.EUR, currency="EUR"))
    assert e.value.code == "not_ron"


def test_the_cpi_year_is_the_year_before():
    assert cpi_year_for(date(2026, 1, 31)) == 2025


prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("999999"), places=4)
percents = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100"), places=2)


@given(a=prices, b=prices, p=percents)
def test_indexing_keeps_the_order_of_prices_and_never_lowers_one(a, b, p):
    f = Factor(1 + p / 100, Method.FIXED, percent=p)
    lo, hi = sorted([a, b])
    new_lo, new_hi = new_prices([lo, hi], f)
    assert new_lo <= new_hi
    assert new_lo >= lo and new_hi >= hi


@given(a=prices, p=percents, q=percents)
def test_a_larger_percentage_never_gives_a_smaller_price(a, p, q):
    small, large = sorted([p, q])
    [x] = new_prices([a], Factor(1 + small / 100, Method.FIXED))
    [y] = new_prices([a], Factor(1 + large / 100, Method.FIXED))
    assert x <= y


@given(ps=st.lists(prices, max_size=5), p=percents, year=st.integers(2021, 2040))
def test_applying_the_same_year_twice_changes_nothing(ps, p, year):
    f = Factor(1 + p / 100, Method.FIXED)
    once = index_year(ps, f, year=year, last_indexed_year=year - 1)
    twice = index_year(once, f, year=year, last_indexed_year=year)
    assert twice == once
    assert all(n == n.quantize(Decimal("0.0001")) for n in once)  # 4 decimals, as stored
