"""BNR reference exchange rates, stored as RON per one unit of the currency."""

from __future__ import annotations

from django.db import models


class ExchangeRate(models.Model):
    currency = models.CharField(max_length=3)
    date = models.DateField()
    # RON for one unit (BNR's value divided by its multiplier), kept unrounded to 8 places.
    rate = models.DecimalField(max_digits=18, decimal_places=8)
    published_value = models.DecimalField(max_digits=14, decimal_places=4)
    multiplier = models.PositiveIntegerField(default=1)
    source = models.CharField(max_length=200, blank=True)
    fetched_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["currency", "date"], name="rate_once_per_day")
        ]
        indexes = [models.Index(fields=["currency", "-date"])]

    def __str__(self) -> str:
        return f"{self.currency} {self.date}: {self.rate}"
