"""Payments: record (with allocations), allocate the rest later, reverse."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy
from ninja import Field, Query, Router, Schema, Status

from recurent.clients.models import Client
from recurent.common import clock
from recurent.common.errors import field_error
from recurent.payments import selectors
from recurent.payments.models import Payment
from recurent.payments.receipts import receipt_warning
from recurent.payments.services import payment_allocate, payment_record, payment_reverse

from ..auth import caller_of, get_or_404, scoped
from ..problems import Problem
from ..schemas import (
    AllocateIn,
    AllocationIn,
    Amount,
    In,
    PaymentIn,
    PaymentMethodIn,
    PaymentOut,
    PaymentPage,
    ReverseIn,
)
from .common import MAX_ID, MAX_LIMIT, MAX_OFFSET, Id, page

router = Router(tags=["payments"])

PaymentOrdering = Literal["date", "-date", "amount", "-amount", "recorded_at", "-recorded_at"]


class ProformaPaymentIn(In):
    """A payment against a proforma, in its currency, for its client (payments.proformas)."""

    date: date
    amount: Amount
    method: PaymentMethodIn = "bank_transfer"
    reference: str = Field("", max_length=200, description="default: the proforma's number")
    receipt_number: str = Field("", max_length=40, description="required for cash")
    issue_receipt: bool = Field(
        False, description="cash in lei: issue its receipt, after the invoice when it is paid"
    )


def payment_out(p: Payment) -> dict[str, Any]:
    data = {
        f: getattr(p, f)
        for f in PaymentOut.model_fields
        if f not in {"allocations", "unallocated", "receipt_id", "cash_limit_warning"}
    }
    receipt = getattr(p, "receipt", None)  # the reverse one-to-one: absent unless cash
    data["receipt_id"] = receipt.pk if receipt is not None else None
    # Over the ceiling the receipt is still issued (the money was received); the caller is told,
    # as the web page and the CLI tell their user (Legea 70/2015, fine of 25 % of the excess).
    data["cash_limit_warning"] = receipt_warning(receipt) if receipt is not None else ""
    data["allocations"] = list(p.allocations.all())
    data["unallocated"] = selectors.unallocated(p)
    return data


def _specs(allocations: list[AllocationIn]) -> list[tuple[int, Any]]:
    return [(a.invoice_id, a.amount) for a in allocations]


def _get(request: HttpRequest, payment_id: int) -> Payment:
    return get_or_404(
        Payment.objects.select_related("receipt").prefetch_related("allocations"),
        request,
        "payment",
        pk=payment_id,
    )


@router.get("/payments", response=PaymentPage, summary="List payments")
def list_payments(
    request: HttpRequest,
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    ordering: PaymentOrdering = "-date",
    client_id: int | None = Query(None, ge=1, le=MAX_ID),
    reversed: bool | None = None,
    date_from: date | None = Query(None, description="paid on or after"),  # noqa: B008
    date_to: date | None = Query(None, description="paid on or before"),  # noqa: B008
) -> dict:
    qs = scoped(Payment.objects.select_related("receipt").prefetch_related("allocations"), request)
    if client_id is not None:
        qs = qs.filter(client_id=client_id)
    if reversed is not None:
        qs = qs.filter(reversed=reversed)
    if date_from:
        qs = qs.filter(date__gte=date_from)
    if date_to:
        qs = qs.filter(date__lte=date_to)
    return page(qs, limit=limit, offset=offset, ordering=ordering, out=payment_out)


@router.post(
    "/payments",
    response={201: PaymentOut},
    summary="Record a payment received, optionally applied to invoices",
)
def create_payment(request: HttpRequest, body: PaymentIn) -> Status:
    caller = caller_of(request)
    client = Client.objects.filter(company_id=caller.company_id, pk=body.client_id).first()
    if client is None:
        raise field_error("client_id", gettext_lazy("unknown client"), "unknown_client")
    data = body.model_dump(exclude={"client_id", "allocations"})
    p = payment_record(
        company=caller.company,
        client=client,
        allocations=_specs(body.allocations),
        as_of=clock.now(),
        user=caller.user,
        **data,
    )
    return Status(201, payment_out(_get(request, p.pk)))


@router.post(
    "/invoice-drafts/{draft_id}/payments",
    response={201: PaymentOut},
    summary="Record a payment against a proforma; its invoice is issued once its payments cover it",
)
def pay_proforma(request: HttpRequest, draft_id: Id, body: ProformaPaymentIn) -> Status:
    from recurent.invoices.models import InvoiceDraft
    from recurent.payments.proformas import proforma_payment_record

    caller = caller_of(request)
    d = get_or_404(
        InvoiceDraft.objects.exclude(proforma_number=""), request, "proforma", pk=draft_id
    )
    p = proforma_payment_record(
        proforma=d, as_of=clock.now(), user=caller.user, **body.model_dump()
    )
    return Status(201, payment_out(_get(request, p.pk)))


@router.get("/payments/{payment_id}", response=PaymentOut, summary="Get a payment")
def get_payment(request: HttpRequest, payment_id: Id) -> dict:
    return payment_out(_get(request, payment_id))


@router.get(
    "/payments/{payment_id}/receipt.pdf",
    summary="Download a cash payment's receipt (chitanță) as PDF",
    openapi_extra={"responses": {200: {"description": "the PDF", "content": {
        "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}},
)  # fmt: skip
def receipt_pdf(request: HttpRequest, payment_id: Id) -> HttpResponse:
    from recurent.payments.receipts import receipt_pdf as render

    receipt = getattr(_get(request, payment_id), "receipt", None)
    if receipt is None:
        raise Problem(404, "no_receipt", "this payment has no receipt")
    response = HttpResponse(render(receipt), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{receipt.full_number}.pdf"'
    return response


@router.post(
    "/payments/{payment_id}/allocate",
    response=PaymentOut,
    summary="Apply the unallocated part of a payment to invoices",
)
def allocate_payment(request: HttpRequest, payment_id: Id, body: AllocateIn) -> dict:
    p = _get(request, payment_id)
    payment_allocate(
        payment=p,
        allocations=_specs(body.allocations),
        as_of=clock.now(),
        user=caller_of(request).user,
    )
    return payment_out(_get(request, payment_id))


@router.post(
    "/payments/{payment_id}/reverse",
    response=PaymentOut,
    summary="Reverse a payment (bank return, mistake); it stays in the books",
)
def reverse_payment(request: HttpRequest, payment_id: Id, body: ReverseIn) -> dict:
    p = _get(request, payment_id)
    payment_reverse(payment=p, reason=body.reason, as_of=clock.now(), user=caller_of(request).user)
    return payment_out(_get(request, payment_id))


# ---- late-payment interest (recurent.payments.interest; docs/interest.md) -------------------


class InterestIn(Schema):
    client_id: int | None = None  # one client; all of the company's when omitted
    dry_run: bool = False  # compute only, issue nothing
    email: bool = False  # queue each invoice's email to its client


class InterestItemOut(Schema):
    invoice_id: int  # the late invoice
    number: str
    since: date  # first day late invoiced
    until: date  # last day late invoiced
    amount: Decimal
    capped: bool  # cut at the invoice's amount
    statement: dict[str, Any]  # rule and segments: from, to, days, base, rate, unit, amount


class InterestOut(Schema):
    client_id: int
    currency: str
    total: Decimal
    invoice_id: int | None  # the interest invoice; null on a dry run
    number: str | None
    error: str  # why this client's invoice was refused (its days stay to invoice); "" if issued
    items: list[InterestItemOut]


@router.post(
    "/interest-invoices",
    response=list[InterestOut],
    summary="Issue the late-payment interest invoices due today: one per client and currency",
)
def issue_interest(request: HttpRequest, body: InterestIn) -> list[dict[str, Any]]:
    from recurent.payments.interest import interest_invoice, statement_json

    caller = caller_of(request)
    client = None
    if body.client_id is not None:
        client = Client.objects.filter(company_id=caller.company_id, pk=body.client_id).first()
        if client is None:
            raise field_error("client_id", gettext_lazy("unknown client"), "unknown_client")
    done = interest_invoice(company=caller.company, as_of=clock.now(), user=caller.user,
                            client=client, dry_run=body.dry_run, email=body.email)  # fmt: skip
    return [
        {
            "client_id": d.client.pk,
            "currency": d.currency,
            "total": d.total,
            "invoice_id": d.invoice.pk if d.invoice else None,
            "number": d.invoice.full_number if d.invoice else None,
            "error": d.error,
            "items": [
                {
                    "invoice_id": i.invoice.pk,
                    "number": i.invoice.full_number,
                    "since": i.since,
                    "until": i.until,
                    "amount": i.result.total,
                    "capped": i.result.capped,
                    "statement": statement_json(i),
                }
                for i in d.items
            ],
        }  # fmt: skip
        for d in done
    ]
