"""Clients (buyers): companies or individuals, with their bank and contact details."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from recurent.common.addresses import Address, clean_address
from recurent.common.models import TimeStamped
from recurent.common.validators import validate_county, validate_emails, validate_iban
from recurent.engine import identifiers


class ClientKind(models.TextChoices):
    COMPANY = "company", _("legal entity")
    INDIVIDUAL = "individual", _("individual")


class Client(TimeStamped):
    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="clients"
    )
    kind = models.CharField(
        _("kind"), max_length=12, choices=ClientKind.choices, default=ClientKind.COMPANY
    )
    name = models.CharField(_("name"), max_length=200)
    tax_id = models.CharField(
        _("CUI/CIF or CNP"),
        max_length=16,
        blank=True,
        help_text=_(
            "CUI/CIF for a company (RO prefix if VAT-registered); CNP for an individual (optional)."
        ),
    )
    trade_register = models.CharField(_("trade-register number"), max_length=40, blank=True)
    street = models.CharField(_("street"), max_length=150)
    city = models.CharField(_("city"), max_length=50)
    county = models.CharField(
        _("county"),
        max_length=6,
        blank=True,
        validators=[validate_county],
        help_text=_("Romanian addresses only (ISO 3166-2, e.g. RO-CJ; RO-B for Bucharest)."),
    )
    # For an address outside Romania (county stays empty there): state, province, region as the
    # client writes it. The UBL (issue 12) emits it as cac:PostalAddress/cbc:CountrySubentity.
    region = models.CharField(
        _("region"),
        max_length=100,
        blank=True,
        help_text=_("For an address outside Romania: state, province or region."),
    )
    country = models.CharField(_("country"), max_length=2, default="RO")
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    emails = models.JSONField(
        _("email addresses"), default=list, blank=True, validators=[validate_emails]
    )
    iban = models.CharField(_("IBAN"), max_length=34, blank=True, validators=[validate_iban])
    bank = models.CharField(_("bank"), max_length=100, blank=True)
    payment_term_days = models.PositiveIntegerField(_("payment term (days)"), default=15)
    language = models.CharField(
        _("language of emails and documents"),
        max_length=2,
        blank=True,
        default="",
        choices=[
            ("", _("automatic: Romanian in Romania, English abroad")),
            ("ro", "Română"),
            ("en", "English"),
        ],
    )
    notes = models.TextField(_("notes"), blank=True)
    # Filled from ANAF's VAT-payer registry (issue 8); shown before the next invoice.
    vat_on_collection = models.BooleanField(_("VAT on collection"), default=False)
    inactive_at_anaf = models.BooleanField(_("inactive at ANAF"), default=False)
    # Issue 18: contracts of this client falling due in the same run (same series, currency
    # and issue date) go on one invoice, a line group per contract (invoices.grouping).
    one_invoice_per_client = models.BooleanField(
        _("one invoice for all contracts"),
        default=False,
        help_text=_(
            "Contracts falling due on the same day, in the same series and currency, are "
            "invoiced together on one invoice, each line showing its contract and period."
        ),
    )

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["company", "name"])]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = self.normalize()
        if errors:
            raise ValidationError(errors)

    def normalize(self) -> dict[str, list[ValidationError]]:
        """Bring identifiers and the address to their canonical form; return what is wrong.

        Runs before field validation (services call it first) so that ``Cluj`` or
        ``București`` + ``Sector 3`` are accepted as RO-CJ / RO-B + SECTOR3.
        """
        errors: dict[str, list[ValidationError]] = {}
        self.country = (self.country or "").strip().upper()
        try:
            if self.kind == ClientKind.COMPANY:
                if not self.tax_id:
                    errors["tax_id"] = [
                        ValidationError(
                            _("a legal entity needs its CUI/CIF"), code="tax_id_required"
                        )
                    ]
                elif self.country == "RO":
                    self.tax_id = identifiers.clean_cui(self.tax_id, "tax_id")
            elif self.tax_id:
                self.tax_id = identifiers.clean_cnp(self.tax_id, "tax_id")
        except identifiers.IdentifierError:
            what = _("CUI/CIF") if self.kind == ClientKind.COMPANY else _("CNP")
            errors["tax_id"] = [
                ValidationError(
                    _("%(value)s is not a valid %(what)s: check the digits"),
                    code="tax_id_invalid",
                    params={"value": self.tax_id, "what": what},
                )
            ]
        if self.iban:
            try:
                self.iban = identifiers.clean_iban(self.iban)
            except identifiers.IdentifierError:
                errors["iban"] = [
                    ValidationError(
                        _("%(value)s is not a valid IBAN: check the letters and digits"),
                        code="iban_invalid",
                        params={"value": self.iban},
                    )
                ]
        address, address_errors = clean_address(
            Address(self.country, self.county, self.city, self.region)
        )
        self.county, self.city, self.region = address.county, address.city, address.region
        errors.update(address_errors)
        return errors
