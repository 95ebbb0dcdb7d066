"""Whether a company or a client can appear on an invoice ANAF accepts: the party rules of
CIUS-RO that can be checked on the record itself, before any invoice is drawn (the billing run
sets a contract aside with these reasons; the forms show them by the field)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import geo, identifiers


def check_party(snapshot: Mapping[str, Any], role: str) -> list[tuple[str, str]]:
    """(field, message) for every value of a company (``role='seller'``) or client
    (``role='buyer'``) that would make its invoices unsendable to ANAF.

    ``snapshot`` has the keys of ``invoices.snapshots.seller_snapshot``/``buyer_snapshot``
    (a seller's tax id is under ``cui``, a buyer's under ``tax_id``)."""
    out: list[tuple[str, str]] = []
    name = (snapshot.get("name") or snapshot.get("legal_name") or "").strip()
    if not name:
        out.append(("name" if role == "buyer" else "legal_name", "the name is required"))
    elif len(name) > 200:
        out.append(("name", "e-Factura accepts at most 200 characters"))
    street, city = (snapshot.get("street") or "").strip(), (snapshot.get("city") or "").strip()
    if not street:
        out.append(("street", "the street is required on every e-Factura invoice (BR-RO-080)"))
    elif len(street) > 150:
        out.append(("street", "e-Factura accepts at most 150 characters"))
    if not city:
        out.append(("city", "the city is required on every e-Factura invoice (BR-RO-090)"))
    elif len(city) > 50:
        out.append(("city", "e-Factura accepts at most 50 characters"))
    if len(snapshot.get("postal_code") or "") > 20:
        out.append(("postal_code", "e-Factura accepts at most 20 characters"))
    country = (snapshot.get("country") or "RO").upper()
    if country == "RO":
        try:
            county = geo.clean_county(snapshot.get("county") or "")
        except geo.AddressError:
            out.append(
                (
                    "county",
                    "a Romanian address needs its county (ISO 3166-2, e.g. RO-CJ; RO-B for Bucharest)",
                )
            )
        else:
            if county == "RO-B":
                try:
                    geo.clean_bucharest_city(city)
                except geo.AddressError:
                    out.append(
                        ("city", "a Bucharest address needs its sector as the city (Sector 1 to 6)")
                    )
    if role == "seller":
        cui = snapshot.get("cui") or ""
        # The RO prefix follows the VAT status in the XML (ubl.py), so only the number is checked.
        try:
            identifiers.clean_cui(cui, "cui")
        except identifiers.IdentifierError as e:
            out.append(("cui", e.message))
        if snapshot.get("iban"):
            try:
                identifiers.clean_iban(snapshot["iban"])
            except identifiers.IdentifierError as e:
                out.append(("iban", e.message))
    else:
        tax_id = (snapshot.get("tax_id") or "").strip()
        if snapshot.get("kind", "company") == "company":
            if not tax_id:
                out.append(("tax_id", "a legal entity needs its CUI/CIF (BR-RO-120)"))
            elif country == "RO":
                try:
                    identifiers.clean_cui(tax_id, "tax_id")
                except identifiers.IdentifierError as e:
                    out.append(("tax_id", e.message))
        elif tax_id:
            try:
                identifiers.clean_cnp(tax_id, "tax_id")
            except identifiers.IdentifierError as e:
                out.append(("tax_id", e.message))
    return out
