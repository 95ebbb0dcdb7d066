"""Storing and looking up BNR rates. An invoice never uses a guessed rate."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from . import bnr
from .models import ExchangeRate


class RateUnavailable(Exception):
    def __init__(self, currency: str, on: date, detail: str) -> None:
        super().__init__(f"no BNR rate for {currency} on {on.isoformat()}: {detail}")
        self.currency = currency
        self.on = on


@transaction.atomic
def rates_store(published: list[bnr.PublishedRate], source: str = "") -> int:
    """Insert the rates not stored yet; a published rate is never overwritten. Returns the count added."""
    existing = {
        (c, d)
        for c, d in ExchangeRate.objects.filter(date__in={p.day for p in published}).values_list(
            "currency", "date"
        )
    }
    new = [
        ExchangeRate(
            currency=p.currency,
            date=p.day,
            rate=p.per_unit.quantize(Decimal("0.00000001")),
            published_value=p.value,
            multiplier=p.multiplier,
            source=source[:200],
        )
        for p in published
        if (p.currency, p.day) not in existing
    ]
    ExchangeRate.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def rates_fetch_daily(url: str | None = None) -> int:
    url = url or str(settings.RECURENT["BNR_URL"])
    return rates_store(bnr.parse(bnr.fetch(url)), url)


def rates_fetch_year(year: int, url_template: str | None = None) -> int:
    url = (url_template or str(settings.RECURENT["BNR_YEAR_URL"])).format(year=year)
    return rates_store(bnr.parse(bnr.fetch(url)), url)


class RateBook:
    """Rates looked up once per (currency, day) during a billing run."""

    def __init__(self, max_age_days: int | None = None) -> None:
        self.max_age = timedelta(
            days=max_age_days if max_age_days is not None else settings.RECURENT["FX_MAX_AGE_DAYS"]
        )
        self._cache: dict[tuple[str, date], ExchangeRate | RateUnavailable] = {}

    def rate(self, currency: str, on: date) -> ExchangeRate:
        """The rate BNR published for ``on`` or the last one before it (weekends, holidays)."""
        key = (currency, on)
        if key not in self._cache:
            found = (
                ExchangeRate.objects.filter(currency=currency, date__lte=on)
                .order_by("-date")
                .first()
            )
            if found is None:
                self._cache[key] = RateUnavailable(
                    currency, on, "none stored; fetch BNR rates (recurent rates fetch)"
                )
            elif on - found.date > self.max_age:
                self._cache[key] = RateUnavailable(
                    currency,
                    on,
                    f"the newest stored is from {found.date.isoformat()}, too old to use",
                )
            else:
                self._cache[key] = found
        hit = self._cache[key]
        if isinstance(hit, RateUnavailable):
            raise hit
        return hit
