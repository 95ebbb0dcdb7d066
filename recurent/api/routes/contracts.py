"""Contracts: lines, billing settings, life cycle and schedule.

The contracts services emit contract.created / contract.changed / contract.cancelled in the
transaction of the change, so webhooks follow every interface (web, API, portal, import) alike.
"""

from __future__ import annotations

from datetime import date
from itertools import islice
from typing import Any, Literal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy
from ninja import Field, Query, Router, Schema, Status

from recurent.catalog.models import Product
from recurent.clients.models import Client
from recurent.common import clock
from recurent.companies.models import InvoiceSeries
from recurent.contracts.charges import charge_add, charge_remove, charges_pending
from recurent.contracts.models import Contract, ContractCharge
from recurent.contracts.services import (
    LineSpec,
    contract_activate,
    contract_change_lines,
    contract_create,
    contract_pause,
    contract_resume,
    contract_update,
)
from recurent.invoices.cancellation import contract_cancel_crediting

from ..auth import Caller, caller_of, get_or_404, scoped
from ..problems import Problem
from ..schemas import (
    CancelIn,
    ContractCancelledOut,
    ContractIn,
    ContractOut,
    ContractPage,
    ContractPatch,
    In,
    LineIn,
    LinesIn,
    Money,
    Quantity,
    ScheduleOut,
)
from .common import MAX_ID, MAX_LIMIT, MAX_OFFSET, Id, page

router = Router(tags=["contracts"])

ContractOrdering = Literal[
    "signed_on",
    "-signed_on",
    "number",
    "-number",
    "next_issue_at",
    "-next_issue_at",
    "created_at",
    "-created_at",
]
StatusFilter = Literal["draft", "active", "paused", "cancelled", "ended"]


def contract_out(c: Contract) -> dict[str, Any]:
    data = {f: getattr(c, f) for f in ContractOut.model_fields if f != "lines"}
    data["lines"] = [
        {
            "id": li.pk,
            "product_id": li.product_id,
            "position": li.position,
            "quantity": li.quantity,
            "unit_price": li.unit_price,
            "description": li.description,
            "from_index": li.from_index,
            "until_index": li.until_index,
        }
        for li in c.lines.all()
    ]
    return data


def _line_specs(caller: Caller, lines: list[LineIn]) -> list[LineSpec]:
    ids = {li.product_id for li in lines}
    products = {p.pk: p for p in Product.objects.filter(company_id=caller.company_id, pk__in=ids)}
    errors = {
        f"lines.{i}.product_id": [
            ValidationError(gettext_lazy("unknown product"), code="unknown_product")
        ]
        for i, li in enumerate(lines)
        if li.product_id not in products
    }
    if errors:
        raise ValidationError(errors)
    return [
        LineSpec(products[li.product_id], li.quantity, li.unit_price, li.description)
        for li in lines
    ]


def _refs(caller: Caller, fields: dict[str, Any]) -> dict[str, Any]:
    """client_id/series_id/issuer_id -> objects of the caller's company (else a field error)."""
    out = dict(fields)
    errors: dict[str, list[Any]] = {}
    lookups = (
        ("client_id", "client", Client.objects.filter(company_id=caller.company_id)),
        ("series_id", "series", InvoiceSeries.objects.filter(company_id=caller.company_id)),
        (
            "issuer_id",
            "issuer",
            get_user_model().objects.filter(memberships__company_id=caller.company_id),
        ),
    )
    for key, name, qs in lookups:
        if key not in out:
            continue
        pk = out.pop(key)
        if pk is None:
            if name == "series" and key in fields:
                continue  # "the default series"
            errors[key] = [ValidationError(gettext_lazy("required"), code="required")]
            continue
        obj = qs.filter(pk=pk).first()
        if obj is None:
            errors[key] = [
                ValidationError(
                    gettext_lazy("unknown %(name)s"), code="unknown", params={"name": name}
                )
            ]
        else:
            out[name] = obj
    if errors:
        raise ValidationError(errors)
    return out


def _get(request: HttpRequest, contract_id: int) -> Contract:
    return get_or_404(
        Contract.objects.prefetch_related("lines"), request, "contract", pk=contract_id
    )


def _reload(c: Contract) -> dict[str, Any]:
    return contract_out(Contract.objects.prefetch_related("lines").get(pk=c.pk))


@router.get("/contracts", response=ContractPage, summary="List contracts")
def list_contracts(
    request: HttpRequest,
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    ordering: ContractOrdering = "-signed_on",
    status: StatusFilter | None = None,
    client_id: int | None = Query(None, ge=1, le=MAX_ID),
    series_id: int | None = Query(None, ge=1, le=MAX_ID),
    signed_from: date | None = None,
    signed_to: date | None = None,
) -> dict:
    qs = scoped(Contract.objects.prefetch_related("lines"), request)
    if status:
        qs = qs.filter(status=status)
    if client_id is not None:
        qs = qs.filter(client_id=client_id)
    if series_id is not None:
        qs = qs.filter(series_id=series_id)
    if signed_from:
        qs = qs.filter(signed_on__gte=signed_from)
    if signed_to:
        qs = qs.filter(signed_on__lte=signed_to)
    return page(qs, limit=limit, offset=offset, ordering=ordering, out=contract_out)


@router.post("/contracts", response={201: ContractOut}, summary="Create a contract")
def create_contract(request: HttpRequest, body: ContractIn) -> Status:
    caller = caller_of(request)
    data = body.model_dump()
    lines = _line_specs(caller, body.lines)
    data.pop("lines")
    activate = data.pop("activate")
    if data.get("issuer_id") is None:
        data["issuer_id"] = caller.token.user_id
    data = _refs(caller, data)
    c = contract_create(
        company=caller.company, lines=lines, user=caller.user, activate=activate, **data
    )
    return Status(201, _reload(c))


@router.get("/contracts/{contract_id}", response=ContractOut, summary="Get a contract")
def get_contract(request: HttpRequest, contract_id: Id) -> dict:
    return contract_out(_get(request, contract_id))


@router.patch(
    "/contracts/{contract_id}",
    response=ContractOut,
    summary="Change a contract's terms or billing settings",
)
def update_contract(request: HttpRequest, contract_id: Id, body: ContractPatch) -> dict:
    caller = caller_of(request)
    c = _get(request, contract_id)
    fields = _refs(caller, body.model_dump(exclude_unset=True))
    c = contract_update(contract=c, user=caller.user, **fields)
    return _reload(c)


def _action(request: HttpRequest, contract_id: int, action: str, fn: Any, **kw: Any) -> dict:
    caller = caller_of(request)
    c = _get(request, contract_id)
    c = fn(contract=c, user=caller.user, as_of=clock.now(), **kw)
    return _reload(c)


@router.post("/contracts/{contract_id}/activate", response=ContractOut, summary="Start billing")
def activate_contract(request: HttpRequest, contract_id: Id) -> dict:
    return _action(request, contract_id, "activate", contract_activate)


@router.post("/contracts/{contract_id}/pause", response=ContractOut, summary="Pause billing")
def pause_contract(request: HttpRequest, contract_id: Id) -> dict:
    return _action(request, contract_id, "pause", contract_pause)


@router.post(
    "/contracts/{contract_id}/resume",
    response=ContractOut,
    summary="Resume billing (periods inside the pause are not invoiced)",
)
def resume_contract(request: HttpRequest, contract_id: Id) -> dict:
    return _action(request, contract_id, "resume", contract_resume)


@router.post(
    "/contracts/{contract_id}/cancel",
    response=ContractCancelledOut,
    summary="Cancel now or at the end of the current period",
)
def cancel_contract(request: HttpRequest, contract_id: Id, body: CancelIn) -> dict:
    caller = caller_of(request)
    c, credit = contract_cancel_crediting(
        contract=_get(request, contract_id), user=caller.user, as_of=clock.now(),
        at_period_end=body.at_period_end, credit_unused=body.credit_unused,
    )  # fmt: skip
    out = _reload(c)
    out["credit_note"] = None if credit is None else {
        "id": credit.pk, "full_number": credit.full_number, "gross_total": credit.gross_total,
        "currency": credit.currency, "credited_invoice_id": credit.credited_invoice_id,
    }  # fmt: skip
    return out


@router.post(
    "/contracts/{contract_id}/lines",
    response=ContractOut,
    summary="Replace the product lines from the next period not yet invoiced",
)
def change_lines(request: HttpRequest, contract_id: Id, body: LinesIn) -> dict:
    caller = caller_of(request)
    c = _get(request, contract_id)
    lines = _line_specs(caller, body.lines)
    c = contract_change_lines(contract=c, user=caller.user, lines=lines)
    return _reload(c)


@router.get(
    "/contracts/{contract_id}/schedule",
    response=ScheduleOut,
    summary="The billing periods of a contract",
)
def contract_schedule(
    request: HttpRequest,
    contract_id: Id,
    from_index: int = Query(0, ge=0, le=1000),
    count: int = Query(12, ge=1, le=120),
) -> dict:
    c = _get(request, contract_id)
    periods = []
    try:
        periods = list(islice(c.schedule().periods(from_index), count))
    except (ValueError, OverflowError):
        pass  # past year 9999: the schedule ends there for any practical purpose
    return {
        "contract_id": c.pk,
        "next_index": c.next_index,
        "periods": [
            {
                "index": p.index,
                "issue_at": p.issue_at,
                "period_start": p.start,
                "period_end": p.end,
                "invoiced": p.index < c.next_index,
            }
            for p in periods
        ],
    }


class ChargeIn(In):
    kind: Literal["charge", "credit"] = Field("charge", description="a credit lowers the invoice")
    description: str = Field(min_length=1, max_length=100, description="the line's name")
    quantity: Quantity
    unit_price: Money = Field(description="in the contract's price currency, never negative")
    unit_code: str = Field("C62", min_length=1, max_length=3, description="UN/ECE Rec. 20")
    vat_category: str = Field("S", max_length=2)
    vat_rate: str = Field("standard", max_length=12)


class ChargeOut(Schema):
    id: int
    kind: str
    description: str
    quantity: str
    unit_price: str
    unit_code: str
    vat_category: str
    vat_rate: str
    created_at: str
    invoice_id: int | None


def charge_out(ch: ContractCharge) -> dict[str, Any]:
    return {
        "id": ch.pk, "kind": ch.kind, "description": ch.description,
        "quantity": str(ch.quantity), "unit_price": str(ch.unit_price), "unit_code": ch.unit_code,
        "vat_category": ch.vat_category, "vat_rate": ch.vat_rate,
        "created_at": ch.created_at.isoformat(), "invoice_id": ch.invoice_id,
    }  # fmt: skip


@router.post(
    "/contracts/{contract_id}/charges",
    response={201: ChargeOut},
    summary="Add a one-off charge or credit to the contract's next invoice (once)",
)
def add_charge(request: HttpRequest, contract_id: Id, body: ChargeIn) -> Status:
    caller = caller_of(request)
    c = _get(request, contract_id)
    ch = charge_add(contract=c, user=caller.user, as_of=clock.now(), **body.model_dump())
    ch.refresh_from_db()  # the stored figures (4 decimals), as a later GET shows them
    return Status(201, charge_out(ch))


@router.get(
    "/contracts/{contract_id}/charges",
    response=list[ChargeOut],
    summary="The one-off charges and credits waiting for the contract's next invoice",
)
def list_charges(request: HttpRequest, contract_id: Id) -> list[dict[str, Any]]:
    c = _get(request, contract_id)
    return [charge_out(ch) for ch in charges_pending(contract=c)]


@router.delete(
    "/contracts/{contract_id}/charges/{charge_id}",
    response={204: None},
    summary="Withdraw a one-off charge or credit not yet invoiced",
)
def remove_charge(request: HttpRequest, contract_id: Id, charge_id: Id) -> Status:
    caller = caller_of(request)
    c = _get(request, contract_id)
    ch = ContractCharge.objects.filter(contract=c, pk=charge_id).first()
    if ch is None:  # the contract is the caller's (checked above); its charges are scoped by it
        raise Problem(404, "not_found", "no such charge")
    charge_remove(charge=ch, user=caller.user, as_of=clock.now())
    return Status(204, None)
