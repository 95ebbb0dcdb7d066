"""Review before numbering (invoices.review): drafts waiting for review, approve, skip, edit."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from recurent.common import clock
from recurent.invoices.models import Invoice, InvoiceDraft
from recurent.invoices.review import review_approve, review_queue, review_skip, review_update

from ..auth import caller_of, get_or_404
from ..schemas import In, InvoiceDetailOut, Quantity
from .common import MAX_ID, Id
from .invoices import invoice_detail

router = Router(tags=["review"])


class ReviewLineOut(Schema):
    position: int
    name: str
    quantity: Decimal
    unit_code: str
    unit_price: Decimal
    vat_category: str
    vat_rate: str


class ReviewDraftOut(Schema):
    id: int
    status: str = Field(description="pending, approved or skipped")
    contract_id: int
    contract_number: str
    client_id: int
    client_name: str
    period_index: int | None
    period_start: date | None
    period_end: date | None
    prepared_at: datetime = Field(description="the period's issue instant")
    currency: str
    notes: str
    invoice_id: int | None
    lines: list[ReviewLineOut]


class ReviewLineIn(In):
    position: int = Field(ge=1, le=10_000, description="the line's position on the draft")
    quantity: Quantity


class ReviewUpdateIn(In):
    lines: list[ReviewLineIn] | None = Field(None, max_length=500, description="new quantities")
    notes: str | None = Field(None, max_length=2000, description="the invoice's notes")


def draft_out(d: InvoiceDraft) -> dict[str, Any]:
    c, cl = d.contract, d.client
    assert c is not None
    return {
        "id": d.pk, "status": d.review_status, "contract_id": c.pk, "contract_number": c.number,
        "client_id": cl.pk, "client_name": cl.name, "period_index": d.period_index,
        "period_start": d.period_start, "period_end": d.period_end, "prepared_at": d.created_at,
        "currency": d.currency, "notes": d.notes, "invoice_id": d.invoice_id,
        "lines": list(d.lines.all()),
    }  # fmt: skip


def _renamed(key: str, at: dict[str, str]) -> str:
    head, dot, tail = key.partition(".")
    return at.get(head, head) + dot + tail


def _get(request: HttpRequest, draft_id: int) -> InvoiceDraft:
    qs = InvoiceDraft.objects.exclude(review_status="").select_related("contract", "client")
    return get_or_404(qs, request, "draft", pk=draft_id)  # type: ignore[no-any-return]


@router.get(
    "/review/drafts",
    response=list[ReviewDraftOut],
    summary="Contract invoices waiting for review, oldest first (the order approval numbers them)",
)
def list_waiting(
    request: HttpRequest, contract_id: int | None = Query(None, ge=1, le=MAX_ID)
) -> list[dict[str, Any]]:
    qs = review_queue(company_id=caller_of(request).company.pk).prefetch_related("lines")
    if contract_id is not None:
        qs = qs.filter(contract_id=contract_id)
    return [draft_out(d) for d in qs[:500]]


@router.get("/review/drafts/{draft_id}", response=ReviewDraftOut, summary="One draft of review")
def get_draft(request: HttpRequest, draft_id: Id) -> dict[str, Any]:
    return draft_out(_get(request, draft_id))


@router.patch(
    "/review/drafts/{draft_id}",
    response=ReviewDraftOut,
    summary="Change quantities (by line position) or the notes of a draft waiting for review",
)
def update_draft(request: HttpRequest, draft_id: Id, body: ReviewUpdateIn) -> dict[str, Any]:
    d = _get(request, draft_id)
    lines = body.lines or []
    quantities = {li.position: li.quantity for li in lines}
    try:
        review_update(draft=d, as_of=clock.now(), quantities=quantities, notes=body.notes)
    except ValidationError as e:
        # The service names a line by its position on the draft; the API by its place in the
        # body's list (lines[N] is the N-th entry, shown as lines.N-1 like every other route).
        at = {f"lines[{li.position}]": f"lines[{i}]" for i, li in enumerate(lines, start=1)}
        raise ValidationError(
            {_renamed(k, at): v for k, v in e.error_dict.items()}
            if hasattr(e, "error_dict") else e
        ) from e  # fmt: skip
    return draft_out(_get(request, draft_id))


@router.post(
    "/review/drafts/{draft_id}/approve",
    response={201: InvoiceDetailOut},
    summary="Approve: the invoice is numbered and issued now (a contract's periods in order)",
)
def approve_draft(request: HttpRequest, draft_id: Id) -> Status:
    caller = caller_of(request)
    d = _get(request, draft_id)
    inv = review_approve(draft=d, as_of=clock.now(), user=caller.user)
    return Status(201, invoice_detail(Invoice.objects.select_related("series").get(pk=inv.pk)))


@router.post(
    "/review/drafts/{draft_id}/skip",
    response=ReviewDraftOut,
    summary="Skip: the period is not invoiced and no number is taken",
)
def skip_draft(request: HttpRequest, draft_id: Id) -> dict[str, Any]:
    caller = caller_of(request)
    d = _get(request, draft_id)
    review_skip(draft=d, as_of=clock.now(), user=caller.user)
    return draft_out(_get(request, draft_id))
