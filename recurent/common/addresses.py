"""One rule for the addresses of clients and companies (the seller's and the buyer's).

CIUS-RO wants, for a Romanian address, the county as ISO 3166-2 (``RO-CJ``) and, in Bucharest
(``RO-B``), the city written ``SECTOR1`` … ``SECTOR6``. People write "Cluj", "București",
"Sector 3", "sectorul 3" or "S3": all are accepted here and brought to that form. A county means
something only in Romania: another country's address keeps a free-text ``region`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from recurent.engine import geo

BUCHAREST = "RO-B"


@dataclass(frozen=True)
class Address:
    country: str
    county: str
    city: str
    region: str = ""


def is_bucharest(county: str) -> bool:
    try:
        return geo.clean_county(county) == BUCHAREST
    except geo.AddressError:
        return False


def clean_address(address: Address) -> tuple[Address, dict[str, list[ValidationError]]]:
    """The address in canonical form, and what is wrong with it (per field, in words)."""
    errors: dict[str, list[ValidationError]] = {}
    country = (address.country or "").strip().upper()
    # None from an API body (a JSON null) is an empty field, not a 500.
    county, city = (address.county or "").strip(), (address.city or "").strip()
    region = (address.region or "").strip()
    if country != "RO":
        # A county code would be wrong on a foreign address; what was typed is its region.
        return Address(country, "", city, region or county), errors
    if not county:
        errors["county"] = [
            ValidationError(_("choose the county of a Romanian address"), code="county_required")
        ]
        return Address(country, county, city, ""), errors
    try:
        county = geo.clean_county(county)
    except geo.AddressError:
        errors["county"] = [
            ValidationError(
                _("%(value)s is not a Romanian county; choose one from the list"),
                code="county_unknown",
                params={"value": county},
            )
        ]
        return Address(country, county, city, ""), errors
    if county == BUCHAREST:
        try:
            city = geo.clean_bucharest_city(city)
        except geo.AddressError:
            errors["city"] = [
                ValidationError(
                    _("choose the sector of the Bucharest address (Sector 1 to Sector 6)"),
                    code="sector_required",
                )
            ]
    return Address(country, county, city, ""), errors
