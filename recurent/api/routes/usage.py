"""Usage of a contract's variable lines (contracts.usage): post a quantity or a meter reading
for a period not yet invoiced, and list what is pending."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from recurent.common import clock
from recurent.contracts.models import Contract, UsageRecord, UsageSource
from recurent.contracts.usage import (
    contract_missing_usage_set,
    line_usage_set,
    reading_record,
    usage_pending,
    usage_record,
    usage_remove,
)

from ..auth import caller_of, get_or_404
from ..idempotency import HEADER
from ..problems import Problem
from ..schemas import In
from .common import Id

router = Router(tags=["contracts"])


class UsageIn(In):
    line: int = Field(ge=1, le=32767, description="the contract line's position (1, 2, ...)")
    # Strings or numbers: the service refuses more than 4 decimals and what it cannot read.
    quantity: Decimal | None = Field(None, description="usage to add (a line that sums usage)")
    reading: Decimal | None = Field(None, description="the meter's new reading (a metered line)")
    previous: Decimal | None = Field(
        None, description="the previous reading; none: the meter's last recorded one"
    )
    period_index: int | None = Field(None, ge=0, description="none: the next invoice's period")


class UsageOut(Schema):
    id: int
    line: int
    period_index: int
    quantity: str
    reading_start: str | None
    reading_end: str | None
    key: str
    source: str
    recorded_at: str
    invoice_id: int | None


def usage_out(r: UsageRecord) -> dict[str, Any]:
    def s(v: Any) -> str | None:
        return None if v is None else str(v)

    return {
        "id": r.pk, "line": r.line_position, "period_index": r.period_index,
        "quantity": str(r.quantity), "reading_start": s(r.reading_start),
        "reading_end": s(r.reading_end), "key": r.key, "source": r.source,
        "recorded_at": r.recorded_at.isoformat(), "invoice_id": r.invoice_id,
    }  # fmt: skip


def _get(request: HttpRequest, contract_id: int) -> Contract:
    return get_or_404(Contract.objects.all(), request, "contract", pk=contract_id)


@router.post(
    "/contracts/{contract_id}/usage",
    response={201: UsageOut},
    summary="Record usage or a meter reading of a variable line for a period not yet invoiced",
)
def add_usage(request: HttpRequest, contract_id: Id, body: UsageIn) -> Status:
    caller = caller_of(request)
    c = _get(request, contract_id)
    if (body.quantity is None) == (body.reading is None):
        raise Problem(422, "invalid", "give either quantity or reading")
    # The Idempotency-Key is also kept on the record: a retry through another path (a CSV with
    # the same key, another token) finds the first record instead of adding a second one.
    common: dict[str, Any] = {
        "contract": c, "line_position": body.line, "as_of": clock.now(), "user": caller.user,
        "period_index": body.period_index, "key": request.headers.get(HEADER, "")[:100],
        "source": UsageSource.API,
    }  # fmt: skip
    if body.reading is not None:
        r = reading_record(reading=body.reading, previous=body.previous, **common)
    else:
        r = usage_record(quantity=body.quantity, **common)
    r.refresh_from_db()
    return Status(201, usage_out(r))


@router.get(
    "/contracts/{contract_id}/usage",
    response=list[UsageOut],
    summary="The contract's usage not yet invoiced, by period and line",
)
def list_usage(request: HttpRequest, contract_id: Id) -> list[dict[str, Any]]:
    return [usage_out(r) for r in usage_pending(contract=_get(request, contract_id))]


@router.delete(
    "/contracts/{contract_id}/usage/{usage_id}",
    response={204: None},
    summary="Remove usage not yet invoiced (usage on an invoice stays: correct it by a storno)",
)
def remove_usage(request: HttpRequest, contract_id: Id, usage_id: Id) -> Status:
    caller = caller_of(request)
    c = _get(request, contract_id)
    r = UsageRecord.objects.filter(contract=c, pk=usage_id).first()
    if r is None:  # the contract is the caller's (checked above); its usage is scoped by it
        raise Problem(404, "not_found", "no such usage")
    usage_remove(record=r, user=caller.user)
    return Status(204, None)


class TierIn(In):
    up_to: Decimal | None = Field(None, description="cumulative upper bound; none: the rest")
    unit_price: Decimal


class LineUsageIn(In):
    variable: bool = True
    meter: Literal["sum", "reading"] = Field("sum", description="sum of usage or meter readings")
    tiers: list[TierIn] = Field(default_factory=list, max_length=20)
    minimum_charge: Decimal | None = None
    default_quantity: Decimal | None = Field(None, description="when a period has no usage")


class UsageSettingsIn(In):
    missing_usage: Literal["wait", "default"] = Field(
        description="a period without usage waits (up to the company's cut-off) or takes the "
        "default quantity"
    )


@router.put(
    "/contracts/{contract_id}/lines/{position}/usage",
    response={204: None},
    summary="Make a contract line variable (its quantity from usage) or fixed again",
)
def set_line_usage(
    request: HttpRequest, contract_id: Id, position: int, body: LineUsageIn
) -> Status:
    caller = caller_of(request)
    c = _get(request, contract_id)
    tiers = [{"up_to": None if t.up_to is None else str(t.up_to), "unit_price": str(t.unit_price)}
             for t in body.tiers]  # fmt: skip
    line_usage_set(
        contract=c, line_position=position, user=caller.user, variable=body.variable,
        meter=body.meter, tiers=tiers, minimum_charge=body.minimum_charge,
        default_quantity=body.default_quantity,
    )  # fmt: skip
    return Status(204, None)


@router.put(
    "/contracts/{contract_id}/usage-settings",
    response={204: None},
    summary="What a period without usage does: wait for it or take the default quantity",
)
def set_usage_settings(request: HttpRequest, contract_id: Id, body: UsageSettingsIn) -> Status:
    caller = caller_of(request)
    contract_missing_usage_set(
        contract=_get(request, contract_id), user=caller.user, value=body.missing_usage
    )
    return Status(204, None)
