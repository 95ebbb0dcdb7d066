"""Products and services (the nomenclator)."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

from recurent.common.errors import as_validation_error, field_error
from recurent.common.models import TimeStamped
from recurent.common.validators import (
    validate_currency,
    validate_not_negative,
    validate_vat_category,
    validate_vat_rate_code,
)
from recurent.engine.vat import VatCategory, VatRateCode

# UN/ECE Recommendation 20 codes offered in forms (any valid code may be imported).
UNITS = [
    ("H87", _("piece")),
    ("C62", _("unit")),
    ("HUR", _("hour")),
    ("DAY", _("day")),
    ("WEE", _("week")),
    ("MON", _("month")),
    ("ANN", _("year")),
    ("KGM", _("kilogram")),
    ("MTR", _("metre")),
    ("MTK", _("square metre")),
    ("LTR", _("litre")),
    ("KWH", _("kilowatt hour")),
    ("E48", _("service unit")),
    ("SET", _("set")),
]
# The name printed on the invoice for each offered code, unless the user types another one
# (the web form follows the code while the name is still one of these).
UNIT_NAMES = {
    "H87": "buc", "C62": "buc", "HUR": "oră", "DAY": "zi", "WEE": "săptămână", "MON": "lună",
    "ANN": "an", "KGM": "kg", "MTR": "m", "MTK": "mp", "LTR": "l", "KWH": "kWh",
    "E48": "serviciu", "SET": "set",
}  # fmt: skip


class Product(TimeStamped):
    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="products"
    )
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    unit_code = models.CharField(_("unit of measure (UN/ECE Rec. 20)"), max_length=3, default="C62")
    unit_name = models.CharField(_("unit name"), max_length=20, default="buc")
    unit_price = models.DecimalField(
        _("unit price"), max_digits=16, decimal_places=4, validators=[validate_not_negative]
    )
    currency = models.CharField(
        _("currency"), max_length=3, default="RON", validators=[validate_currency]
    )
    vat_category = models.CharField(
        _("VAT category"),
        max_length=2,
        default=VatCategory.STANDARD,
        choices=[(c.value, c.value) for c in VatCategory],
        validators=[validate_vat_category],
    )
    vat_rate = models.CharField(
        _("VAT rate"),
        max_length=12,
        default=VatRateCode.STANDARD,
        choices=[(c.value, c.value) for c in VatRateCode],
        validators=[validate_vat_rate_code],
    )
    active = models.BooleanField(_("active"), default=True)
    self_service = models.BooleanField(_("clients may switch to it from the portal"), default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="product_code_once")
        ]
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def clean(self) -> None:

        from recurent.engine import vat

        try:
            vat.check_pair(
                vat.parse_category(self.vat_category), vat.parse_rate_code(self.vat_rate)
            )
        except vat.VatError as e:
            raise as_validation_error(e) from None
        if self.unit_price is not None and self.unit_price < Decimal(0):
            raise field_error("unit_price", gettext_lazy("cannot be negative"), "negative")
