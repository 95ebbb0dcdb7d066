"""The BNR reference rates shipped by rates 0003 give the half-year rates docs/interest.md lists
(the rate in force on 1 January / 1 July, OG 13/2011 art. 3 (4)); editable in the admin."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib import admin

from recurent.engine.interest import InterestRule, legal_annual_rate, reference_rate_on
from recurent.payments.interest import reference_rates
from recurent.rates.models import ReferenceRate

D = Decimal
# (half-year start, reference rate, professionals = ref + 8, consumers = (ref + 4) * 0.8)
HALF_YEARS = [
    (date(2020, 1, 1), "2.50", "10.50", "5.20"),
    (date(2020, 7, 1), "1.75", "9.75", "4.60"),
    (date(2021, 1, 1), "1.50", "9.50", "4.40"),
    (date(2021, 7, 1), "1.25", "9.25", "4.20"),
    (date(2022, 1, 1), "1.75", "9.75", "4.60"),
    (date(2022, 7, 1), "3.75", "11.75", "6.20"),
    (date(2023, 1, 1), "6.75", "14.75", "8.60"),
    (date(2023, 7, 1), "7.00", "15.00", "8.80"),
    (date(2024, 1, 1), "7.00", "15.00", "8.80"),
    (date(2024, 7, 1), "7.00", "15.00", "8.80"),  # the cut to 6.75 came on 8 July
    (date(2025, 1, 1), "6.50", "14.50", "8.40"),
    (date(2025, 7, 1), "6.50", "14.50", "8.40"),
    (date(2026, 1, 1), "6.50", "14.50", "8.40"),
]


@pytest.mark.django_db
def test_shipped_rates_give_the_documented_half_years():
    rates = reference_rates()
    for start, ref, pro, consumer in HALF_YEARS:
        r = reference_rate_on(rates, start)
        assert r == D(ref), start
        assert legal_annual_rate(InterestRule.LEGAL_PROFESSIONAL, r) == D(pro)
        assert legal_annual_rate(InterestRule.LEGAL_CONSUMER, r) == D(consumer)
    assert ReferenceRate in admin.site._registry
