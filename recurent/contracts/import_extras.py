"""What a contract of an import file carries besides its terms and lines (docs/import-format.md):
a variable line's usage settings and the one-off charges and credits for its first invoice.
Each is checked by the very function the web page and the API use (contracts.usage,
contracts.charges), and written with the contract by import_contracts.write_contracts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError

from recurent.common.errors import messages_of

from .charges import _clean as charge_values
from .import_values import unknown
from .models import ContractCharge
from .usage import line_usage_values

LINE_USAGE_FIELDS = {"variable", "meter", "tiers", "minimum_charge", "default_quantity"}
CHARGE_FIELDS = {"kind", "description", "quantity", "unit_price", "unit_code", "vat_category",
                 "vat_rate"}  # fmt: skip


def _at(where: str, field: str) -> str:
    return where if field == "__all__" else f"{where}.{field}"


def line_usage(where: str, line: dict, found: list[tuple[str, str]]) -> dict[str, Any]:
    """A line's usage columns when the file makes it variable ({} for a fixed line, at no
    cost: the usual file has none of these keys)."""
    if not LINE_USAGE_FIELDS & line.keys():
        return {}
    try:
        values = line_usage_values(
            variable=line.get("variable", True), meter=line.get("meter", "sum"),
            tiers=line.get("tiers") or [], minimum_charge=line.get("minimum_charge"),
            default_quantity=line.get("default_quantity"),
        )  # fmt: skip
    except ValidationError as e:
        found.extend((_at(where, f), m) for f, m in messages_of(e))
        return {}
    if not values["variable"]:
        return {}
    return values


def charges(where: str, raw: Any, now: datetime, found: list[tuple[str, str]]) -> list[Any]:
    """The contract's ``charges``: unsaved ContractCharge rows (the contract is set when it
    is written), on its first invoice as charge_add would put them."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        found.append((f"{where}.charges", "a list"))
        return []
    out = []
    for j, ch in enumerate(raw):
        cw = f"{where}.charges[{j}]"
        if not isinstance(ch, dict):
            found.append((cw, "an object"))
            continue
        found.extend(unknown(cw, ch, CHARGE_FIELDS))
        try:
            values = charge_values(
                kind=ch.get("kind", "charge"), description=ch.get("description", ""),
                quantity=ch.get("quantity", "1"), unit_price=ch.get("unit_price"),
                unit_code=ch.get("unit_code", "C62"), vat_category=ch.get("vat_category", "S"),
                vat_rate=ch.get("vat_rate", "standard"),
            )  # fmt: skip
        except ValidationError as e:
            found.extend((_at(cw, f), m) for f, m in messages_of(e))
            continue
        out.append(ContractCharge(created_at=now, **values))
    return out
