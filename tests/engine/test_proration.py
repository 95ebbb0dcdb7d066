"""Proration by days (engine.proration): splitting a period never creates or loses money
beyond one rounding unit, and a change is priced as old before its day and new from it."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recurent.engine.cycles import Cycle, Schedule
from recurent.engine.money import round_money
from recurent.engine.proration import (
    ProrationError,
    change_adjustments,
    days_between,
    prorate,
)

UNIT = Decimal("0.01")
amounts = st.decimals(min_value=Decimal("0"), max_value=Decimal("100000000"), places=4)
starts = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 1, 1))
lengths = st.integers(min_value=1, max_value=366)
keys = st.sampled_from(["A", "B", "C", "D"])
plans = st.dictionaries(keys, amounts, max_size=4)


@st.composite
def period_and_day(draw):  # type: ignore[no-untyped-def]
    """A period (first, last day) and a day inside it."""
    first = draw(starts)
    last = first + timedelta(days=draw(lengths) - 1)
    day = first + timedelta(days=draw(st.integers(0, (last - first).days)))
    return first, last, day


@given(amounts, period_and_day())
def test_splitting_a_period_at_any_day_keeps_the_whole_within_one_unit(amount, pd):
    first, last, day = pd
    whole = prorate(amount=amount, period_first=first, period_last=last, first=first, last=last)
    assert whole == round_money(amount)
    after = prorate(amount=amount, period_first=first, period_last=last, first=day, last=last)
    if day == first:
        assert after == whole
        return
    before = prorate(
        amount=amount, period_first=first, period_last=last, first=first, last=day - timedelta(1)
    )
    assert abs(before + after - whole) <= UNIT
    assert before >= 0 and after >= 0 and before.as_tuple().exponent == -2


@given(amounts, period_and_day(), st.lists(st.integers(1, 365), max_size=6))
def test_splitting_into_many_pieces_loses_at_most_half_a_unit_per_piece(amount, pd, cuts):
    first, last, _ = pd
    n = days_between(first, last)
    days = sorted({first + timedelta(days=c % n) for c in cuts} - {first})
    bounds = [first, *days, last + timedelta(days=1)]
    pieces = [
        prorate(amount=amount, period_first=first, period_last=last, first=a, last=b - timedelta(1))
        for a, b in zip(bounds, bounds[1:], strict=False)
    ]
    exact = amount  # the pieces' unrounded shares add up to the whole exactly
    assert abs(sum(pieces) - exact) <= Decimal("0.005") * len(pieces)


@given(amounts, amounts, period_and_day(), st.booleans())
def test_a_change_costs_old_before_its_day_and_new_from_it_within_one_unit(a, b, pd, billed):
    first, last, day = pd
    adj = change_adjustments(
        old={"P": a}, new={"P": b}, period_first=first, period_last=last, change_day=day,
        billed=billed,
    )  # fmt: skip
    n = days_between(first, last)
    before, after = (day - first).days, days_between(day, last)
    exact = a * before / n + b * after / n
    invoiced = round_money(a if billed else b) + sum(x.amount for x in adj)
    assert abs(invoiced - exact) <= UNIT
    assert len(adj) <= 1 and all(x.amount != 0 for x in adj)


@given(plans, plans, period_and_day())
def test_billed_in_advance_or_in_arrears_the_period_costs_the_same_within_one_unit_a_line(
    old, new, pd
):
    first, last, day = pd
    kw = dict(old=old, new=new, period_first=first, period_last=last, change_day=day)
    advance = sum(map(round_money, old.values()), Decimal(0)) + sum(
        x.amount for x in change_adjustments(**kw, billed=True)
    )
    arrears = sum(map(round_money, new.values()), Decimal(0)) + sum(
        x.amount for x in change_adjustments(**kw, billed=False)
    )
    assert abs(advance - arrears) <= UNIT * len(set(old) | set(new))


@given(plans, plans, period_and_day(), st.booleans())
def test_a_change_undone_the_same_day_gives_back_exactly_what_it_took(old, new, pd, billed):
    first, last, day = pd
    kw = dict(period_first=first, period_last=last, change_day=day, billed=billed)
    there = change_adjustments(old=old, new=new, **kw)
    back = change_adjustments(old=new, new=old, **kw)
    assert sum(x.amount for x in there) + sum(x.amount for x in back) == 0


@given(plans, period_and_day(), st.booleans())
def test_an_unchanged_plan_is_never_prorated(plan, pd, billed):
    first, last, day = pd
    assert not change_adjustments(
        old=plan, new=dict(plan), period_first=first, period_last=last, change_day=day,
        billed=billed,
    )  # fmt: skip


def test_a_monthly_period_across_the_dst_change_counts_calendar_days():
    # March 2026 in Bucharest has a 23-hour day (29 March): still 31 days of service.
    p = Schedule(first_wall=datetime(2026, 3, 1, 9, 0), cycle=Cycle.parse("monthly")).period(0)
    assert (p.start, p.end) == (date(2026, 3, 1), date(2026, 3, 31))
    (adj,) = change_adjustments(
        old={"P": Decimal("100")}, new={"P": Decimal("200")}, period_first=p.start,
        period_last=p.end, change_day=date(2026, 3, 16), billed=True,
    )  # fmt: skip
    # 16 .. 31 March: 16 of 31 days of the 100.00 difference.
    assert (adj.amount, adj.days, adj.period_days) == (Decimal("51.61"), 16, 31)


def test_a_product_dropped_is_credited_and_one_added_is_charged():
    adj = change_adjustments(
        old={"BASIC": Decimal("31")}, new={"PRO": Decimal("62")},
        period_first=date(2026, 1, 1), period_last=date(2026, 1, 31),
        change_day=date(2026, 1, 22), billed=True,
    )  # fmt: skip
    assert [(x.key, x.amount, x.first, x.last) for x in adj] == [
        ("PRO", Decimal("20.00"), date(2026, 1, 22), date(2026, 1, 31)),
        ("BASIC", Decimal("-10.00"), date(2026, 1, 22), date(2026, 1, 31)),
    ]


def test_in_arrears_the_days_before_the_change_are_priced_at_the_old_amount():
    (adj,) = change_adjustments(
        old={"P": Decimal("310")}, new={"P": Decimal("620")},
        period_first=date(2026, 1, 1), period_last=date(2026, 1, 31),
        change_day=date(2026, 1, 11), billed=False,
    )  # fmt: skip
    assert (adj.amount, adj.first, adj.last, adj.days) == (
        Decimal("-100.00"), date(2026, 1, 1), date(2026, 1, 10), 10,
    )  # fmt: skip


def test_a_change_day_outside_the_period_is_refused_naming_the_field():
    with pytest.raises(ProrationError) as e:
        change_adjustments(
            old={}, new={"P": Decimal(1)}, period_first=date(2026, 1, 1),
            period_last=date(2026, 1, 31), change_day=date(2026, 2, 1), billed=True,
        )  # fmt: skip
    assert e.value.field == "change_day" and e.value.code == "change_outside_period"
    with pytest.raises(ProrationError) as e:
        prorate(amount=Decimal(1), period_first=date(2026, 1, 31), period_last=date(2026, 1, 1),
                first=date(2026, 1, 1), last=date(2026, 1, 1))  # fmt: skip
    assert e.value.field == "period_end"
