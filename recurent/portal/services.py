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
from django.utils.translation import gettext, gettext_lazy

from recurent.catalog.models import Product
from recurent.clients.models import Client
from recurent.common.errors import field_error
from recurent.contracts.models import Contract, ContractLine, ContractStatus
from recurent.contracts.services import (
    LineSpec,
    contract_cancel,
    contract_change_lines,
    quantity_problem,
)
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
        raise field_error("contract", gettext_lazy("unknown contract"), "unknown_contract")
    if not changeable(c):
        raise field_error(
            "contract",
            gettext_lazy("this subscription can no longer be changed"),
            "not_changeable",
        )
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


def _number(raw: Any) -> Decimal | None:
    """The quantity the client typed, or None when it is not a finite number."""
    try:
        return money.to_decimal(raw, "quantity")
    except money.MoneyError:
        return None


def _show(q: Decimal) -> str:
    """A quantity as people write it: 3, 2.5 (never 3.0000 or 1E+1)."""
    return f"{q.normalize():f}"


def _out_of_bounds(li: ContractLine, q: Decimal) -> ValidationError | None:
    """Why the client cannot set the line to ``q`` (in the bounds the company set), or None."""
    problem = quantity_problem(q)
    if problem is not None and problem.code == "not_positive":
        return ValidationError(
            gettext_lazy("must be greater than zero (to stop, unsubscribe)"), code="min_value"
        )
    lo, hi, step = li.min_quantity, li.max_quantity, li.quantity_step
    if lo is not None and q < lo:
        return ValidationError(
            gettext_lazy("at least %(min)s"), code="min_value", params={"min": _show(lo)}
        )
    if hi is not None and q > hi:
        return ValidationError(
            gettext_lazy("at most %(max)s"), code="max_value", params={"max": _show(hi)}
        )
    if problem is not None:  # too large or too many decimals for any line
        return problem
    if step is not None and (q - (lo or Decimal(0))) % step != 0:
        return ValidationError(
            gettext_lazy("in steps of %(step)s, starting from %(min)s"),
            code="step",
            params={"step": _show(step), "min": _show(lo or Decimal(0))},
        )
    return None


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
    errors: dict[str, list[Any]] = {}
    changes: list[tuple[str, ...]] = []
    for li in current:
        raw = quantities.get(li.pk, li.quantity)
        new_pid = switch.get(li.pk)
        asked = li.pk in quantities or (new_pid is not None and new_pid != li.product_id)
        if asked and not li.self_service:
            # Only the lines the company made self-service change from the portal; the request
            # names a line the page never offered (a hand-made form).
            wanted = raw if li.pk in quantities else li.quantity
            if new_pid not in {None, li.product_id} or _number(wanted) != li.quantity:
                errors[f"quantity[{li.pk}]"] = [
                    ValidationError(
                        gettext_lazy("this line cannot be changed from the portal"),
                        code="not_self_service",
                    )
                ]
                continue
        q = _number(raw)
        if q is None:
            errors[f"quantity[{li.pk}]"] = [
                ValidationError(
                    gettext_lazy("%(value)s is not a number"),
                    code="not_a_number",
                    params={"value": repr(str(raw)[:20])},
                )
            ]
            continue
        if q != li.quantity:
            problem = _out_of_bounds(li, q)
            if problem is not None:
                errors[f"quantity[{li.pk}]"] = [problem]
                continue
        product, price, desc = li.product, li.unit_price, li.description
        if new_pid and new_pid != li.product_id:
            if new_pid not in allowed:
                errors[f"product[{li.pk}]"] = [
                    ValidationError(
                        gettext_lazy("this product cannot be chosen from the portal"),
                        code="not_self_service",
                    )
                ]
                continue
            product, price, desc = allowed[new_pid], None, ""
            changes.append(("switch", li.product.name, product.name))
        if q != li.quantity:
            changes.append(("quantity", product.name, _show(li.quantity), _show(q)))
        specs.append(
            LineSpec(
                product=product,
                quantity=q,
                unit_price=price,
                description=desc,
                self_service=li.self_service,
                min_quantity=li.min_quantity,
                max_quantity=li.max_quantity,
                quantity_step=li.quantity_step,
            )
        )
    if errors:
        raise ValidationError(errors)
    if not changes:
        raise field_error("__all__", gettext_lazy("nothing changed"), "nothing_changed")
    c = contract_change_lines(contract=c, user=None, lines=specs, actor=ACTOR)
    _tell(client, c, _changed(changes), as_of)
    return c
