"""What an issued invoice keeps of the seller and the buyer, as they were at issue time."""

from __future__ import annotations

from typing import Any

from recurent.clients.models import Client
from recurent.companies.models import Company


def seller_snapshot(c: Company) -> dict[str, Any]:
    return {
        "name": c.legal_name, "cui": c.cui, "trade_register": c.trade_register, "street": c.street,
        "city": c.city, "county": c.county, "country": c.country, "postal_code": c.postal_code,
        "iban": c.iban, "bank": c.bank, "vat_payer": c.vat_payer, "vat_on_collection": c.vat_on_collection,
        "share_capital": c.share_capital, "email": c.email, "phone": c.phone,
        "logo": c.logo.name if c.logo else "",
    }  # fmt: skip


def buyer_snapshot(c: Client) -> dict[str, Any]:
    return {
        "kind": c.kind, "name": c.name, "tax_id": c.tax_id, "trade_register": c.trade_register,
        "street": c.street, "city": c.city, "county": c.county, "region": c.region, "country": c.country,
        "postal_code": c.postal_code, "emails": list(c.emails or []), "iban": c.iban, "bank": c.bank,
        "language": c.language,
    }  # fmt: skip
