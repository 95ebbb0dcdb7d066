"""A contract's discounts and trials (contracts.discounts; engine.discounts prices them)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from recurent.common import clock
from recurent.contracts.discounts import discount_add, discount_remove, discounts_of
from recurent.contracts.models import Contract, ContractDiscount

from ..auth import caller_of, get_or_404
from ..problems import Problem
from ..schemas import In
from .common import Id

router = Router(tags=["contracts"])


class DiscountIn(In):
    kind: Literal["percent", "amount"] = Field("percent", description="a percentage or an amount")
    # A string or a number; the service refuses more than 4 decimals and floats it cannot read.
    value: Decimal = Field(description="percentage (0-100] or amount in the price currency")
    reason: str = Field(min_length=1, max_length=100, description="printed on the invoice")
    line_position: int | None = Field(None, ge=1, description="a contract line; none: all")
    from_index: int | None = Field(None, ge=0, description="first period; none: the next one")
    periods: int | None = Field(None, ge=1, description="how many periods; none: no count")
    until: date | None = Field(None, description="periods starting before this day")
    trial: bool = Field(False, description="a trial (needs periods or until)")


class DiscountOut(Schema):
    id: int
    kind: str
    value: str
    reason: str
    line_position: int | None
    from_index: int
    periods: int | None
    until: date | None
    trial: bool
    created_at: str


def discount_out(d: ContractDiscount) -> dict[str, Any]:
    return {
        "id": d.pk, "kind": d.kind, "value": str(d.value), "reason": d.reason,
        "line_position": d.line_position, "from_index": d.from_index, "periods": d.periods,
        "until": d.until, "trial": d.trial, "created_at": d.created_at.isoformat(),
    }  # fmt: skip


def _get(request: HttpRequest, contract_id: int) -> Contract:
    return get_or_404(Contract.objects.all(), request, "contract", pk=contract_id)


@router.post(
    "/contracts/{contract_id}/discounts",
    response={201: DiscountOut},
    summary="Add a discount or a trial to the contract's invoices from a period on",
)
def add_discount(request: HttpRequest, contract_id: Id, body: DiscountIn) -> Status:
    caller = caller_of(request)
    c = _get(request, contract_id)
    d = discount_add(contract=c, user=caller.user, as_of=clock.now(), **body.model_dump())
    d.refresh_from_db()  # the stored figures (4 decimals), as a later GET shows them
    return Status(201, discount_out(d))


@router.get(
    "/contracts/{contract_id}/discounts",
    response=list[DiscountOut],
    summary="The contract's discounts and trials, in the order they apply",
)
def list_discounts(request: HttpRequest, contract_id: Id) -> list[dict[str, Any]]:
    return [discount_out(d) for d in discounts_of(contract=_get(request, contract_id))]


@router.delete(
    "/contracts/{contract_id}/discounts/{discount_id}",
    response={204: None},
    summary="Remove a discount from the invoices not yet issued (issued ones keep theirs)",
)
def remove_discount(request: HttpRequest, contract_id: Id, discount_id: Id) -> Status:
    caller = caller_of(request)
    c = _get(request, contract_id)
    d = ContractDiscount.objects.filter(contract=c, pk=discount_id).first()
    if d is None:  # the contract is the caller's (checked above); its discounts are scoped by it
        raise Problem(404, "not_found", "no such discount")
    discount_remove(discount=d, user=caller.user, as_of=clock.now())
    return Status(204, None)
