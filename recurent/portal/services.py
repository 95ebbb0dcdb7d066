"""What a client may do from the portal, and the company's revocation of portal links."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext

from recurent.catalog.models import Product
from recurent.clients.models import Client
from recurent.contracts.models import Contract, ContractStatus
from recurent.contracts.services import LineSpec, contract_cancel, contract_change_lines
from recurent.engine import money
from recurent.mail.services import client_language

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


# The company's users each choose their language; the company's own address is written to in
# the installation's default language (Romanian).
COMPANY_LANGUAGE = settings.LANGUAGE_CODE


def _unsubscribed() -> str:
    return gettext("unsubscribed: the subscription ends at the end of the invoiced period.")


def _changed(changes: list[tuple[str, ...]]) -> Callable[[], str]:
    """The change described in the active language (called once per recipient's language)."""

    def describe() -> str:
        parts = []
        for change in changes:
            if change[0] == "switch":
                parts.append(f"{change[1]} → {change[2]}")
            else:
                _kind, product, old, new = change
                parts.append(
                    gettext("%(product)s: quantity %(old)s → %(new)s")
                    % {"product": product, "old": old, "new": new}
                )
        return gettext("change from the next period: %(changes)s") % {"changes": "; ".join(parts)}

    return describe


def _tell(client: Client, contract: Contract, what: Callable[[], str], as_of: datetime) -> None:
    """Queue the client's confirmation (in the client's language) and the company's notice.

    In the caller's transaction: a change that rolls back is neither confirmed nor announced.
    """
    company = contract.company
    names = {"company": company.legal_name, "contract": contract.number, "client": client.name}
    with translation.override(client_language(client)):
        lines = [
            gettext("Hello,"),
            "",
            gettext("We have recorded your request for contract %(contract)s:") % names,
            what(),
            "",
            gettext("Have a good day,"),
            company.legal_name,
        ]
        notify.send(
            company=company,
            to=list(client.emails or []),
            subject=gettext("%(company)s: confirmation of the change to subscription %(contract)s")
            % names,
            body="\n".join(lines) + "\n",
            as_of=as_of,
        )
    with translation.override(COMPANY_LANGUAGE):
        notify.send(
            company=company,
            to=[company.email],
            subject=gettext("Portal: %(client)s changed contract %(contract)s") % names,
            body=gettext(
                "Client %(client)s made the following change to contract %(contract)s "
                "from the portal:"
            )
            % names
            + "\n"
            + what()
            + "\n",
            as_of=as_of,
        )


@transaction.atomic
def portal_unsubscribe(*, client: Client, contract: Contract, as_of: datetime) -> Contract:
    """End the subscription at the end of the period already invoiced (audited by contracts)."""
    c = _own(client, contract)
    c = contract_cancel(contract=c, user=None, as_of=as_of, at_period_end=True, actor=ACTOR)
    _tell(client, c, _unsubscribed, as_of)
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
    changes: list[tuple[str, ...]] = []
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
            changes.append(("switch", li.product.name, product.name))
        if q != li.quantity:
            changes.append(
                ("quantity", product.name, str(li.quantity.normalize()), str(q.normalize()))
            )
        specs.append(
            LineSpec(product=product, quantity=Decimal(q), unit_price=price, description=desc)
        )
    if errors:
        raise ValidationError(errors)
    if not changes:
        raise ValidationError({"__all__": ["nothing changed"]})
    c = contract_change_lines(contract=c, user=None, lines=specs, actor=ACTOR)
    _tell(client, c, _changed(changes), as_of)
    return c
