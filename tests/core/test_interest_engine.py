"""Late-payment interest (recurent.engine.interest): worked examples computed by hand, and
properties (a split period costs at most one rounding, never above the principal, nothing
when paid on time)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recurent.engine.interest import (
    InterestError,
    InterestRule,
    PaymentMade,
    RateUnit,
    ReferenceRate,
    late_interest,
    reference_rate_on,
)

D = Decimal
# The BNR monetary-policy rate (the reference rate, OG 13/2011 art. 3 (1)) as it changed.
RATES = (
    ReferenceRate(date(2023, 1, 11), D("7.00")),
    ReferenceRate(date(2024, 7, 8), D("6.75")),
    ReferenceRate(date(2024, 8, 8), D("6.50")),
)
PRO, CONSUMER, CONTRACT = (
    InterestRule.LEGAL_PROFESSIONAL,
    InterestRule.LEGAL_CONSUMER,
    InterestRule.CONTRACTUAL,
)


def test_professional_unpaid_one_half_year():
    # 10,000.00 due 2025-03-10, unpaid on 2025-04-09. Reference rate in force on 2025-01-01:
    # 6.50 -> 6.50 + 8 = 14.50 % a year. Days 11 Mar .. 9 Apr = 21 + 9 = 30.
    # 10000 * 14.5 / 100 * 30 / 365 = 43500 / 365 = 119.1780... -> 119.18
    r = late_interest(principal=D("10000.00"), due_date=date(2025, 3, 10), payments=[],
                      until=date(2025, 4, 9), rule=PRO, reference_rates=RATES)  # fmt: skip
    assert r.total == D("119.18")
    [s] = r.segments
    assert (s.start, s.end, s.days, s.base, s.rate, s.reference_rate) == (
        date(2025, 3, 11), date(2025, 4, 9), 30, D("10000.00"), D("14.50"), D("6.50"))  # fmt: skip
    assert s.unit == RateUnit.YEAR and not r.capped


def test_professional_half_years_and_partial_payment():
    # 5,000.00 due 2024-12-20; 2,000 paid 2025-01-10, 3,000 paid 2025-02-08.
    # H2 2024: the rate in force on 2024-07-01 is 7.00 (the cut to 6.75 came on 8 July, and
    # counts only from the next half-year) -> 15.00 %; H1 2025: 6.50 on 2025-01-01 -> 14.50 %.
    #   21-31 Dec 2024: 11 days * 5000 * 15.0 % / 365 = 8250 / 365
    #   1-10 Jan 2025 : 10 days * 5000 * 14.5 % / 365 = 7250 / 365 (10 Jan still counts)
    #   11 Jan-8 Feb  : 29 days * 3000 * 14.5 % / 365 = 12615 / 365
    # total 28115 / 365 = 77.0273... -> 77.03
    r = late_interest(
        principal=D("5000.00"), due_date=date(2024, 12, 20),
        payments=[PaymentMade(date(2025, 2, 8), D("3000")), PaymentMade(date(2025, 1, 10), D("2000"))],
        until=date(2025, 12, 31), rule=PRO, reference_rates=RATES,
    )  # fmt: skip
    assert [(s.start, s.end, s.days, s.base, s.rate) for s in r.segments] == [
        (date(2024, 12, 21), date(2024, 12, 31), 11, D("5000.00"), D("15.00")),
        (date(2025, 1, 1), date(2025, 1, 10), 10, D("5000.00"), D("14.50")),
        (date(2025, 1, 11), date(2025, 2, 8), 29, D("3000.00"), D("14.50")),
    ]
    assert abs(r.raw_total - D(28115) / D(365)) < D("1e-20")
    assert r.total == D("77.03")


def test_consumer_rate():
    # 1,000.00 due 2025-07-31, unpaid on 2025-09-29: 31 + 29 = 60 days.
    # (6.50 + 4) * 0.8 = 8.40 % a year; 1000 * 8.4 / 100 * 60 / 365 = 5040 / 365 = 13.808... -> 13.81
    r = late_interest(principal=D("1000.00"), due_date=date(2025, 7, 31), payments=[],
                      until=date(2025, 9, 29), rule=CONSUMER, reference_rates=RATES)  # fmt: skip
    assert r.segments[0].rate == D("8.400") and r.segments[0].days == 60
    assert r.total == D("13.81")


def test_contractual_rate_per_day():
    # 2,000.00 due 2025-01-31 paid 2025-03-02 at 0.1 % a day: 1 Feb .. 2 Mar = 28 + 2 = 30 days.
    # 2000 * 0.1 / 100 * 30 = 60.00
    r = late_interest(principal=D("2000.00"), due_date=date(2025, 1, 31),
                      payments=[PaymentMade(date(2025, 3, 2), D("2000.00"))],
                      until=date(2025, 6, 30), rule=CONTRACT, daily_percent=D("0.1"))  # fmt: skip
    assert r.total == D("60.00")
    assert r.segments[0].unit == RateUnit.DAY and r.segments[0].days == 30


def test_capped_at_the_principal_less_what_was_charged():
    # 500.00 at 1 % a day from 2025-01-02 to 2025-12-31: 364 days * 5.00 = 1820 > 500 -> 500.00
    kw = dict(principal=D("500.00"), due_date=date(2025, 1, 1), payments=[],
              until=date(2025, 12, 31), rule=CONTRACT, daily_percent=D("1"))  # fmt: skip
    r = late_interest(**kw)
    assert (r.raw_total, r.total, r.capped) == (D("1820.00"), D("500.00"), True)
    # 450.00 already invoiced: at most 50.00 more.
    assert late_interest(**kw, already_charged=D("450.00")).total == D("50.00")


def test_since_skips_days_already_invoiced():
    # The days up to 2025-03-31 were invoiced: from 1 April, 10 days at 0.1 % on 1,000 = 10.00.
    r = late_interest(principal=D("1000.00"), due_date=date(2025, 1, 31), payments=[],
                      until=date(2025, 4, 10), rule=CONTRACT, daily_percent=D("0.1"),
                      since=date(2025, 4, 1))  # fmt: skip
    assert r.total == D("10.00") and r.segments[0].start == date(2025, 4, 1)


def test_paid_one_day_late_is_one_day():
    # 3,650.00 due 2025-05-05 paid 2025-05-06 at 14.50 %: 3650 * 0.145 / 365 = 1.45
    r = late_interest(principal=D("3650.00"), due_date=date(2025, 5, 5),
                      payments=[PaymentMade(date(2025, 5, 6), D("3650.00"))],
                      until=date(2025, 6, 30), rule=PRO, reference_rates=RATES)  # fmt: skip
    assert r.total == D("1.45") and r.segments[0].days == 1


def test_refusals():
    with pytest.raises(InterestError) as e:
        late_interest(principal=D("1"), due_date=date(2019, 1, 1), payments=[],
                      until=date(2019, 2, 1), rule=PRO, reference_rates=RATES)  # fmt: skip
    assert e.value.code == "no_reference_rate"
    with pytest.raises(InterestError) as e:
        late_interest(principal=D("1"), due_date=date(2025, 1, 1), payments=[],
                      until=date(2025, 2, 1), rule=CONTRACT)  # fmt: skip
    assert e.value.field == "interest_daily_percent"
    assert reference_rate_on(RATES, date(2024, 7, 1)) == D("7.00")


# ---- properties -----------------------------------------------------------------------------

amounts = st.decimals(min_value=D("0.01"), max_value=D("1000000"), places=2)
days = st.dates(min_value=date(2023, 7, 1), max_value=date(2026, 12, 31))
rules = st.sampled_from([PRO, CONSUMER, CONTRACT])
daily = st.decimals(min_value=D("0.001"), max_value=D("2"), places=3)


def _payments(draw_amounts, draw_offsets, due):
    return [
        PaymentMade(due + timedelta(days=o), a)
        for a, o in zip(draw_amounts, draw_offsets, strict=False)
    ]


@settings(max_examples=150, deadline=None)
@given(amounts, days, rules, daily, st.lists(amounts, max_size=4),
       st.lists(st.integers(-30, 400), min_size=4, max_size=4),
       st.integers(1, 600), st.integers(0, 600))  # fmt: skip
def test_split_period_costs_at_most_one_rounding(principal, due, rule, pct, pays, offs, n, k):
    until = due + timedelta(days=n)
    mid = due + timedelta(days=min(k, n))
    kw = dict(principal=principal, due_date=due, payments=_payments(pays, offs, due),
              rule=rule, reference_rates=RATES, daily_percent=pct)  # fmt: skip
    whole = late_interest(until=until, **kw)
    first = late_interest(until=mid, **kw)
    second = late_interest(until=until, since=mid + timedelta(days=1),
                           already_charged=first.total, **kw)  # fmt: skip
    assert abs(first.total + second.total - whole.total) <= D("0.01")
    assert first.total + second.total <= principal
    assert whole.total <= principal


@settings(max_examples=100, deadline=None)
@given(amounts, days, rules, daily, st.integers(0, 30), st.integers(1, 900))
def test_nothing_when_paid_on_time(principal, due, rule, pct, early, n):
    r = late_interest(principal=principal, due_date=due,
                      payments=[PaymentMade(due - timedelta(days=early), principal)],
                      until=due + timedelta(days=n), rule=rule, reference_rates=RATES,
                      daily_percent=pct)  # fmt: skip
    assert r.total == 0 and r.segments == ()
