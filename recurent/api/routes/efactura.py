"""e-Factura: correcting an invoice ANAF rejected (buyer, delivery data, notes) to send it again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from recurent.common import clock
from recurent.efactura.correction import invoice_efactura_correct
from recurent.efactura.models import EfacturaState
from recurent.invoices.models import Invoice

from ..auth import caller_of, get_or_404
from ..problems import Problem
from ..schemas import In
from .common import Id

router = Router(tags=["e-Factura"])

# Refusals about the invoice's state, not the input: the request may be right, the moment is not.
CONFLICTS = {"accepted", "not_rejected", "cancelled"}


class BuyerCorrectionIn(In):
    kind: str | None = Field(None, description="company or individual")
    name: str | None = Field(None, max_length=200)
    tax_id: str | None = Field(None, max_length=30, description="CUI/CIF, CNP or a foreign VAT id")
    trade_register: str | None = Field(None, max_length=50)
    street: str | None = Field(None, max_length=150)
    city: str | None = Field(None, max_length=50)
    county: str | None = Field(None, max_length=50, description="RO-CJ… for Romania, else free")
    country: str | None = Field(None, max_length=2)
    postal_code: str | None = Field(None, max_length=20)
    region: str | None = Field(None, max_length=50, description="outside Romania, free text")


class DeliveryCorrectionIn(In):
    date: str | None = Field(None, max_length=10, description="actual delivery date, YYYY-MM-DD")
    street: str | None = Field(None, max_length=150)
    city: str | None = Field(None, max_length=50)
    postal_code: str | None = Field(None, max_length=20)
    county: str | None = Field(None, max_length=50)
    country: str | None = Field(None, max_length=2)


class EfacturaCorrectIn(In):
    reason: str = Field(min_length=1, max_length=2000, description="why the invoice is corrected")
    buyer: BuyerCorrectionIn | None = Field(None, description="only the fields that change")
    delivery: DeliveryCorrectionIn | None = None
    notes: str | None = Field(None, max_length=2000)


class ChangeOut(Schema):
    field: str
    old: Any
    new: Any


class EfacturaCorrectionOut(Schema):
    invoice_id: int
    version: int
    efactura_state: str = Field(description="queued: the worker sends it again shortly")
    reason: str
    changes: list[ChangeOut]
    created_by: str
    created_at: datetime
    xml_sha256: str


@router.post(
    "/invoices/{invoice_id}/efactura/correct",
    response={201: EfacturaCorrectionOut},
    summary="Correct an invoice ANAF rejected (buyer, delivery data, notes) and send it again",
    description="Same number and date; amounts and lines need a storno. The corrected XML must "
    "pass the e-Factura check (422 with its rule ids otherwise). 409 when the invoice is not "
    "rejected, was accepted by ANAF (never changed again) or is cancelled.",
)
def correct_invoice(request: HttpRequest, invoice_id: Id, body: EfacturaCorrectIn) -> Status:
    caller = caller_of(request)
    inv = get_or_404(Invoice.objects, request, "invoice", pk=invoice_id)
    changes: dict[str, Any] = {}
    for part in ("buyer", "delivery"):
        value = getattr(body, part)
        if value is not None:
            changes[part] = value.model_dump(exclude_unset=True)
    if body.notes is not None:
        changes["notes"] = body.notes
    try:
        c = invoice_efactura_correct(
            invoice=inv, changes=changes, user=caller.user, reason=body.reason, as_of=clock.now()
        )
    except ValidationError as e:
        codes = {err.code for errs in getattr(e, "error_dict", {}).values() for err in errs}
        if codes & CONFLICTS:
            raise Problem(409, "conflict", "; ".join(str(m) for m in e.messages)) from None
        raise
    state = EfacturaState.objects.filter(pk=inv.pk).values_list("state", flat=True).first()
    return Status(
        201,
        {
            "invoice_id": inv.pk,
            "version": c.version,
            "efactura_state": state,
            "reason": c.reason,
            "changes": c.changes,
            "created_by": c.created_by_name,
            "created_at": c.created_at,
            "xml_sha256": c.xml_sha256,
        },
    )
