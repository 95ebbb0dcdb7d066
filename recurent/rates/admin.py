"""The CPI table in Django's admin (the company's own figures are also edited from its settings)."""

from __future__ import annotations

from django.contrib import admin

from .models import InflationRate


@admin.register(InflationRate)
class InflationRateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("year", "percent", "company", "published_on", "source")
    list_filter = ("company",)
    ordering = ("-year",)
