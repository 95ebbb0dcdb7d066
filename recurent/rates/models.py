"""BNR reference exchange rates, stored as RON per one unit of the currency."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


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


class InflationRate(models.Model):
    """INS's annual inflation rate (CPI, "rata anuală a inflației", December vs December of the
    year before), in percent: what a contract indexed by the CPI is raised by (issue #19).

    Rows without a company are the published figures shipped by migration 0002 (and added by
    whoever runs the installation); a company's own row for a year overrides that year for its
    contracts (a figure INS revised, or one the company enters before an update ships).
    recurent.contracts.indexation.cpi_table reads them in that order.
    """

    company = models.ForeignKey(
        "companies.Company",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="inflation_rates",
    )
    year = models.PositiveSmallIntegerField(_("year"))
    percent = models.DecimalField(_("annual inflation rate (%)"), max_digits=6, decimal_places=2)
    published_on = models.DateField(_("published on"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        ordering = ["-year"]
        constraints = [
            # One figure a year per company, and one published figure a year (a NULL company
            # is not equal to another NULL in a plain unique constraint, hence two).
            models.UniqueConstraint(
                fields=["company", "year"],
                condition=models.Q(company__isnull=False),
                name="inflation_once_per_company_year",
            ),
            models.UniqueConstraint(
                fields=["year"],
                condition=models.Q(company__isnull=True),
                name="inflation_once_per_year",
            ),
        ]

    def __str__(self) -> str:
        return f"CPI {self.year}: {self.percent} %"


class ReferenceRate(models.Model):
    """BNR's reference rate (percent a year) from ``valid_from`` until the next row: the
    monetary-policy rate, which OG 13/2011 art. 3 (1) makes the reference rate. Late-payment
    interest (recurent.engine.interest) uses the one in force on 1 January / 1 July for the
    whole half-year. Shipped by migration 0003; later changes are added in the admin."""

    valid_from = models.DateField(_("in force from"), unique=True)
    rate = models.DecimalField(_("reference rate (% a year)"), max_digits=6, decimal_places=2)
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        ordering = ["-valid_from"]
        verbose_name = _("BNR reference rate")
        verbose_name_plural = _("BNR reference rates")

    def __str__(self) -> str:
        return f"{self.valid_from}: {self.rate} %"
