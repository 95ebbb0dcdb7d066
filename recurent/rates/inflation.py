"""Writes for the CPI table (rates.models.InflationRate): a company's own figure for a year.

The published figures (no company) ship with the migrations; a company enters the figure INS
publishes each January before an update ships it, or a revised one, and it counts for its
contracts only (contracts.indexation.cpi_table).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

from recurent.common.errors import engine_message, field_error
from recurent.companies.models import Company
from recurent.engine import money

from .models import InflationRate

MIN_YEAR, MAX_YEAR = 2000, 2100
# Romania's annual rate was 40 % in 2000 and -0.93 % in 2015: these bounds catch a typo only.
MIN_PERCENT, MAX_PERCENT = Decimal("-50"), Decimal("500")


def inflation_rate_set(*, company: Company, year: Any, percent: Any) -> InflationRate:
    """The company's figure for ``year`` (replacing its earlier one)."""
    errors: dict[str, list[ValidationError]] = {}
    try:
        y = int(year)
    except (TypeError, ValueError):
        y = 0
    if not MIN_YEAR <= y <= MAX_YEAR:
        errors["year"] = [
            ValidationError(
                gettext_lazy("give a year from %(min)s to %(max)s"),
                code="out_of_range",
                params={"min": MIN_YEAR, "max": MAX_YEAR},
            )
        ]
    try:
        p = money.to_decimal(percent, "percent")
    except money.MoneyError as e:
        errors["percent"] = [engine_message(e)]
    else:
        if p != p.quantize(Decimal("0.01")):
            errors["percent"] = [
                ValidationError(gettext_lazy("at most 2 decimals"), code="too_many_decimals")
            ]
        elif not MIN_PERCENT <= p <= MAX_PERCENT:
            errors["percent"] = [
                ValidationError(
                    gettext_lazy("give a rate from %(min)s to %(max)s %%"),
                    code="out_of_range",
                    params={"min": MIN_PERCENT, "max": MAX_PERCENT},
                )
            ]
    if errors:
        raise ValidationError(errors)
    row, _ = InflationRate.objects.update_or_create(
        company=company, year=y, defaults={"percent": p, "source": "company"}
    )
    return row


def inflation_rate_delete(*, company: Company, year: int) -> None:
    """Remove the company's own figure: the published one (if any) counts again."""
    n, _ = InflationRate.objects.filter(company=company, year=year).delete()
    if not n:
        raise field_error("year", gettext_lazy("no figure of yours for this year"), "not_found")


def inflation_table(*, company: Company) -> list[dict[str, Any]]:
    """Year by year, newest first: the published figure and the company's own."""
    rows: dict[int, dict[str, Any]] = {}
    for r in InflationRate.objects.filter(company__isnull=True):
        rows.setdefault(r.year, {"year": r.year, "own": None})["published"] = r
    for r in InflationRate.objects.filter(company=company):
        rows.setdefault(r.year, {"year": r.year, "published": None})["own"] = r
    for row in rows.values():
        row.setdefault("published", None)
    return [rows[y] for y in sorted(rows, reverse=True)]
