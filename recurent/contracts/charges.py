"""One-off charges and credits for a contract's next invoice (writes and the pending list).

The billing engine puts every pending charge of a contract on that contract's next invoice and
marks it there, in the issuing transaction (ContractCharge says why it lands exactly once).
Adding and removing lock the contract row first, as the engine's claim does.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from recurent.engine import money, vat

from .models import ChargeKind, Contract, ContractCharge, ContractStatus
from .services import _audit, _lock, quantity_problem

# ContractCharge.unit_price: 12 digits before the point, 4 after.
CHARGE_PRICE_MAX = Decimal("999999999999.9999")


def _error(field: str, message: Any, code: str, **params: Any) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code, params=params or None)})


def _clean(
    *, kind: str, description: str, quantity: Any, unit_price: Any, unit_code: str,
    vat_category: str, vat_rate: str,
) -> dict[str, Any]:  # fmt: skip
    errors: dict[str, list[ValidationError]] = {}

    def bad(field: str, message: Any, code: str, **params: Any) -> None:
        errors.setdefault(field, []).append(
            ValidationError(message, code=code, params=params or None)
        )

    if kind not in ChargeKind.values:
        bad("kind", _("choose a charge or a credit"), "invalid")
    description = (description or "").strip()
    if not description:
        bad(
            "description",
            _("give a description (it is the line's name on the invoice)"),
            "required",
        )
    elif len(description) > 100:
        bad("description", _("at most 100 characters (e-Factura item name)"), "max_length")
    q = p = None
    try:
        q = money.to_decimal(quantity, "quantity")
        problem = quantity_problem(q)
        if problem:
            bad(
                "quantity", _("invalid quantity: %(reason)s"), "invalid", reason=problem.messages[0]
            )
    except money.MoneyError:
        bad("quantity", _("not a number: %(value)s"), "invalid", value=str(quantity)[:40])
    try:
        p = money.to_decimal(unit_price, "unit_price")
        if p < 0:
            bad("unit_price", _("cannot be negative (a credit is a positive price)"), "negative")
        elif p > CHARGE_PRICE_MAX or p != p.quantize(money.PRICE_QUANTUM):
            bad("unit_price", _("at most 12 digits and 4 decimals"), "invalid")
    except money.MoneyError:
        bad("unit_price", _("not a number: %(value)s"), "invalid", value=str(unit_price)[:40])
    unit_code = (unit_code or "C62").strip().upper()
    if not (1 <= len(unit_code) <= 3 and unit_code.isalnum()):
        bad("unit_code", _("a UN/ECE Rec. 20 unit code, e.g. C62 or HUR"), "invalid")
    try:
        cat = vat.parse_category(vat_category)
        code = vat.parse_rate_code(vat_rate)
        vat.check_pair(cat, code)
    except vat.VatError as e:
        bad(e.field, _("invalid VAT: %(reason)s"), "invalid", reason=e.message)
    if errors:
        raise ValidationError(errors)
    return {
        "kind": kind, "description": description, "quantity": q, "unit_price": p,
        "unit_code": unit_code, "vat_category": cat.value, "vat_rate": code.value,
    }  # fmt: skip


@transaction.atomic
def charge_add(
    *,
    contract: Contract,
    user: User | None,
    as_of: datetime,
    description: str,
    quantity: Any,
    unit_price: Any,
    kind: str = ChargeKind.CHARGE,
    unit_code: str = "C62",
    vat_category: str = "S",
    vat_rate: str = "standard",
    actor: str = "",
) -> ContractCharge:
    """Put a charge or a credit on the contract's next invoice."""
    values = _clean(
        kind=kind, description=description, quantity=quantity, unit_price=unit_price,
        unit_code=unit_code, vat_category=vat_category, vat_rate=vat_rate,
    )  # fmt: skip
    contract = _lock(contract)
    if contract.status in {ContractStatus.CANCELLED, ContractStatus.ENDED}:
        raise _error(
            "contract", _("the contract is %(status)s: it has no next invoice"), "closed",
            status=contract.get_status_display(),
        )  # fmt: skip
    charge = ContractCharge.objects.create(
        contract=contract,
        created_by=user if user is not None and user.is_authenticated else None,
        created_at=as_of,
        **values,
    )
    # updated_at moves: a contract set aside (e.g. a credit larger than its invoice) is retried.
    contract.save(update_fields=["updated_at"])
    _audit(contract, user, "charge_added", _charge_json(charge), actor)
    return charge


@transaction.atomic
def charge_remove(
    *, charge: ContractCharge, user: User | None, as_of: datetime, actor: str = ""
) -> None:
    """Withdraw a charge not yet invoiced (one on an invoice stays: correct it by a storno)."""
    contract = _lock(charge.contract)
    deleted, _n = ContractCharge.objects.filter(pk=charge.pk, invoice__isnull=True).delete()
    if not deleted:
        raise _error("charge", _("this charge is already on an invoice"), "invoiced")
    contract.save(update_fields=["updated_at"])
    _audit(contract, user, "charge_removed", _charge_json(charge), actor)


def _charge_json(ch: ContractCharge) -> dict[str, Any]:
    return {
        "id": ch.pk, "kind": ch.kind, "description": ch.description,
        "quantity": str(ch.quantity), "unit_price": str(ch.unit_price),
        "vat_category": ch.vat_category, "vat_rate": ch.vat_rate,
    }  # fmt: skip


def charges_pending(*, contract: Contract) -> list[ContractCharge]:
    return list(ContractCharge.objects.filter(contract=contract, invoice__isnull=True))
