"""What a client may do from the portal, and the company's revocation of portal links."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from recurent.catalog.models import Product
from recurent.clients.models import Client
from recurent.contracts.models import Contract, ContractStatus
from recurent.contracts.services import LineSpec, contract_cancel, contract_change_lines
from recurent.engine import money

from . import notify
from .models import PortalAccess

ACTOR = "portal"


def _user(user: AbstractBaseUser | None) -> Any:
    return user if user is not None and user.is_authenticated else None


@transaction.atomic
def portal_revoke(*, client: Client, as_of: datetime, user: AbstractBaseUser | None) -> int:
    """Invalidate every portal link of the client issued so far; returns the new key version."""
    access, _ = PortalAccess.objects.select_for_update().get_or_create(client=client)
    access.key_version += 1
    access.revoked_at = as_of
    access.revoked_by = _user(user)
    access.save()
    return access.key_version


def changeable(contract: Contract) -> bool:
    return contract.status in {ContractStatus.ACTIVE, ContractStatus.PAUSED} and (
        contract.final_index is None
    )


def _own(client: Client, contract: Contract) -> Contract:
    # Re-read through the client: a contract id of another client is simply not found.
    c = Contract.objects.filter(pk=contract.pk, client=client).select_related("company").first()
    if c is None:
        raise ValidationError({"contract": ["unknown contract"]})
    if not changeable(c):
        raise ValidationError({"contract": ["this subscription can no longer be changed"]})
    return c


def _tell(client: Client, contract: Contract, what: str) -> None:
    company = contract.company
    notify.send(
        to=list(client.emails or []),
        subject=f"{company.legal_name}: confirmare modificare abonament {contract.number}",
        body=f"Bună ziua,\n\nAm înregistrat cererea dumneavoastră pentru contractul {contract.number}:\n"
        f"{what}\n\nO zi bună,\n{company.legal_name}\n",
    )
    notify.send(
        to=[company.email],
        subject=f"Portal: {client.name} a modificat contractul {contract.number}",
        body=f"Clientul {client.name} a făcut din portal următoarea modificare la contractul "
        f"{contract.number}:\n{what}\n",
    )


@transaction.atomic
def portal_unsubscribe(*, client: Client, contract: Contract, as_of: datetime) -> Contract:
    """End the subscription at the end of the period already invoiced (audited by contracts)."""
    c = _own(client, contract)
    c = contract_cancel(contract=c, user=None, as_of=as_of, at_period_end=True, actor=ACTOR)
    _tell(client, c, "dezabonare: abonamentul se încheie la sfârșitul perioadei facturate.")
    return c


@transaction.atomic
def portal_change(
    *,
    client: Client,
    contract: Contract,
    quantities: Mapping[int, Any],
    switch: Mapping[int, int] | None = None,
    as_of: datetime,
) -> Contract:
    """New quantities (by current line id) and product switches (line id -> self-service product
    id), in force from the next period not yet invoiced."""
    c = _own(client, contract)
    current = list(
        c.lines.filter(until_index__isnull=True)
        .select_related("product")
        .order_by("position", "pk")
    )
    switch = switch or {}
    allowed = {
        p.pk: p
        for p in Product.objects.filter(company_id=c.company_id, self_service=True, active=True)
    }
    specs: list[LineSpec] = []
    errors: dict[str, list[str]] = {}
    changes: list[str] = []
    for li in current:
        raw = quantities.get(li.pk, li.quantity)
        try:
            q = money.to_decimal(raw, f"quantity[{li.pk}]")
        except money.MoneyError as e:
            errors[e.field] = [e.message]
            continue
        if q <= 0:
            errors[f"quantity[{li.pk}]"] = ["must be greater than zero (to stop, unsubscribe)"]
            continue
        product, price, desc = li.product, li.unit_price, li.description
        new_pid = switch.get(li.pk)
        if new_pid and new_pid != li.product_id:
            if new_pid not in allowed:
                errors[f"product[{li.pk}]"] = ["this product cannot be chosen from the portal"]
                continue
            product, price, desc = allowed[new_pid], None, ""
            changes.append(f"{li.product.name} → {product.name}")
        if q != li.quantity:
            changes.append(f"{product.name}: cantitate {li.quantity.normalize()} → {q.normalize()}")
        specs.append(
            LineSpec(product=product, quantity=Decimal(q), unit_price=price, description=desc)
        )
    if errors:
        raise ValidationError(errors)
    if not changes:
        raise ValidationError({"__all__": ["nothing changed"]})
    c = contract_change_lines(contract=c, user=None, lines=specs, actor=ACTOR)
    _tell(client, c, "modificare de la următoarea perioadă: " + "; ".join(changes))
    return c
