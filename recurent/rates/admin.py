"""The CPI table in Django's admin (the company's own figures are also edited from its settings)."""

from __future__ import annotations

from django.contrib import admin

from .models import InflationRate, ReferenceRate


@admin.register(InflationRate)
class InflationRateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("year", "percent", "company", "published_on", "source")
    list_filter = ("company",)
    ordering = ("-year",)


@admin.register(ReferenceRate)
class ReferenceRateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    # The BNR reference rates behind late-payment interest (recurent.payments.interest).
    list_display = ("valid_from", "rate", "source")
    ordering = ("-valid_from",)
