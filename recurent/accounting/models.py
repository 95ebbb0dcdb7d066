"""What the accountant's exports need besides the invoices: the chart of accounts a company
uses, and which invoices each format has already exported (so "only new" misses none and
repeats none). Issued invoices themselves are never touched by an export."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from recurent.common.models import TimeStamped


class AccountingSettings(TimeStamped):
    """The accounts of the Romanian chart (OMFP 1802/2014) an export writes. Defaults are the
    usual ones for a company that sells services; an accountant changes them once."""

    company = models.OneToOneField(
        "companies.Company", on_delete=models.CASCADE, related_name="accounting_settings"
    )
    client_account = models.CharField(_("clients account"), max_length=20, default="4111")
    revenue_account = models.CharField(
        _("revenue account (default)"), max_length=20, default="704",
        help_text=_("704 services, 707 goods, 706 rents; a rule below can choose another."),
    )  # fmt: skip
    vat_account = models.CharField(_("VAT collected account"), max_length=20, default="4427")
    vat_on_collection_account = models.CharField(
        _("VAT not yet due account (VAT on collection)"), max_length=20, default="4428"
    )
    bank_account = models.CharField(_("bank account"), max_length=20, default="5121")
    cash_account = models.CharField(_("cash account"), max_length=20, default="5311")
    card_account = models.CharField(_("card settlements account"), max_length=20, default="5125")
    accountant_email = models.EmailField(_("accountant's email"), blank=True)
    package_day = models.PositiveSmallIntegerField(
        _("day to email the month-close package"), default=0,
        help_text=_("1 to 28: on that day the previous month's package is emailed; 0: never."),
    )  # fmt: skip
    # "2026-11" once that month's package was emailed: the worker sends each month once.
    package_sent_for = models.CharField(max_length=7, blank=True, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(package_day__lte=28), name="accounting_package_day_in_month"
            )
        ]


class AccountRule(models.Model):
    """A revenue account for the lines of one product code, or of one VAT category. The most
    specific rule wins: product code, then VAT category, then the company's default."""

    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="account_rules"
    )
    product_code = models.CharField(_("product code"), max_length=40, blank=True)
    vat_category = models.CharField(_("VAT category"), max_length=2, blank=True)
    revenue_account = models.CharField(_("revenue account"), max_length=20)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company", "product_code", "vat_category"], name="account_rule_once"
            ),
            models.CheckConstraint(
                condition=~models.Q(product_code="", vat_category=""),
                name="account_rule_names_something",
            ),
        ]


class ExportFormat(models.TextChoices):
    SAGA = "saga", "Saga C (XML)"
    WINMENTOR = "winmentor", "WinMENTOR"
    CSV = "csv", _("journal (CSV)")
    XLSX = "xlsx", _("journal (XLSX)")


class AccountingExport(models.Model):
    """One export handed to someone: what was asked, by whom, and a fingerprint of the file."""

    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="accounting_exports"
    )
    format = models.CharField(max_length=10, choices=ExportFormat.choices)
    date_from = models.DateField()
    date_to = models.DateField()
    only_new = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    invoice_count = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["-created_at", "-id"]


class ExportedInvoice(models.Model):
    """An invoice already handed to the accountant in one format. "Only new" exports take the
    invoices without a row here; the constraint makes two exports running at once unable to
    both take the same invoice (the second one fails and is retried by the person)."""

    export = models.ForeignKey(AccountingExport, on_delete=models.CASCADE, related_name="marks")
    invoice = models.ForeignKey("invoices.Invoice", on_delete=models.PROTECT, related_name="+")
    format = models.CharField(max_length=10, choices=ExportFormat.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invoice", "format"], name="invoice_exported_once")
        ]
