"""Invoices: read, list, documents (PDF, e-Factura XML) and storno."""

from __future__ import annotations

import importlib
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy
from ninja import Field, Query, Router, Schema, Status

from recurent.common import clock
from recurent.common.errors import field_error
from recurent.companies.models import InvoiceSeries
from recurent.invoices.grouping import invoice_storno_group
from recurent.invoices.models import Invoice

from ..auth import caller_of, get_or_404, scoped
from ..problems import Problem
from ..schemas import (
    Currency,
    InvoiceDetailOut,
    InvoiceOut,
    InvoicePage,
    Money,
    Quantity,
    StornoCreditIn,
)
from .common import MAX_ID, MAX_LIMIT, MAX_OFFSET, Id, page

router = Router(tags=["invoices"])

InvoiceOrdering = Literal[
    "issued_at",
    "-issued_at",
    "issue_date",
    "-issue_date",
    "due_date",
    "-due_date",
    "number",
    "-number",
    "gross_total",
    "-gross_total",
]
StatusFilter = Literal["issued", "partially_credited", "cancelled"]
Kind = Literal["invoice", "credit_note"]

_FIELDS = [f for f in InvoiceOut.model_fields if f != "series"]


def invoice_out(inv: Invoice) -> dict[str, Any]:
    data = {f: getattr(inv, f) for f in _FIELDS}
    data["series"] = inv.series.code
    return data


def invoice_detail(inv: Invoice) -> dict[str, Any]:
    data = invoice_out(inv)
    data.update(
        vat_breakdown=inv.vat_breakdown,
        seller=inv.seller,
        buyer=inv.buyer,
        lines=list(inv.lines.all()),
    )
    return data


def _get(request: HttpRequest, invoice_id: int) -> Invoice:
    return get_or_404(Invoice.objects.select_related("series"), request, "invoice", pk=invoice_id)


@router.get("/invoices", response=InvoicePage, summary="List invoices")
def list_invoices(
    request: HttpRequest,
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    ordering: InvoiceOrdering = "-issued_at",
    status: StatusFilter | None = None,
    kind: Kind | None = None,
    client_id: int | None = Query(None, ge=1, le=MAX_ID),
    contract_id: int | None = Query(None, ge=1, le=MAX_ID),
    series: str | None = Query(None, max_length=10, description="series code, e.g. REC"),
    issued_from: date | None = Query(None, description="issue date on or after"),  # noqa: B008
    issued_to: date | None = Query(None, description="issue date on or before"),  # noqa: B008
    due_to: date | None = Query(None, description="due date on or before"),  # noqa: B008
) -> dict:
    qs = scoped(Invoice.objects.select_related("series"), request)
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if client_id is not None:
        qs = qs.filter(client_id=client_id)
    if contract_id is not None:
        qs = qs.filter(contract_id=contract_id)
    if series:
        qs = qs.filter(series__code=series)
    if issued_from:
        qs = qs.filter(issue_date__gte=issued_from)
    if issued_to:
        qs = qs.filter(issue_date__lte=issued_to)
    if due_to:
        qs = qs.filter(due_date__lte=due_to)
    return page(
        qs, limit=limit, offset=offset, ordering=ordering, tiebreak=("-number", "-pk"),
        out=invoice_out,
    )  # fmt: skip


@router.get("/invoices/{invoice_id}", response=InvoiceDetailOut, summary="Get an invoice")
def get_invoice(request: HttpRequest, invoice_id: Id) -> dict:
    return invoice_detail(_get(request, invoice_id))


def _document(request: HttpRequest, invoice_id: int, kind: str) -> HttpResponse:
    inv = _get(request, invoice_id)
    from recurent.documents.api import document

    doc = document(inv.pk, kind)
    if doc is None:
        raise Problem(
            404,
            "document_not_ready",
            f"the {kind.upper()} of {inv.full_number} is not rendered yet",
        )
    response = HttpResponse(bytes(doc.content), content_type=doc.content_type)
    response["Content-Disposition"] = f'attachment; filename="{doc.filename}"'
    return response


_PDF = {
    200: {
        "description": "the PDF",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    }
}
_XML = {
    200: {
        "description": "the UBL 2.1 XML",
        "content": {"application/xml": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/invoices/{invoice_id}/pdf",
    summary="Download the PDF",
    openapi_extra={"responses": _PDF},
)
def invoice_pdf(request: HttpRequest, invoice_id: Id) -> HttpResponse:
    return _document(request, invoice_id, "pdf")


@router.get(
    "/invoices/{invoice_id}/xml",
    summary="Download the e-Factura XML",
    openapi_extra={"responses": _XML},
)
def invoice_xml(request: HttpRequest, invoice_id: Id) -> HttpResponse:
    return _document(request, invoice_id, "xml")


def _storno_service() -> Any:
    try:
        module = importlib.import_module("recurent.invoices.storno")
    except ImportError:
        return None
    return getattr(module, "invoice_storno", None)


@router.post(
    "/invoices/{invoice_id}/storno",
    response={201: InvoiceDetailOut},
    summary="Cancel an invoice, whole or some lines, with a credit note (storno)",
)
def storno_invoice(request: HttpRequest, invoice_id: Id, body: StornoCreditIn) -> Status:
    caller = caller_of(request)
    inv = _get(request, invoice_id)
    service = _storno_service()
    if service is None:
        raise Problem(501, "not_implemented", "storno is not available in this version yet")
    lines = None
    if body.lines is not None:
        own = {li.pk: li for li in inv.lines.all()}
        unknown = {
            f"lines.{i}.line_id": [
                ValidationError(gettext_lazy("not a line of this invoice"), code="unknown_line")
            ]
            for i, li in enumerate(body.lines)
            if li.line_id not in own
        }
        if unknown:
            raise ValidationError(unknown)
        lines = [(own[li.line_id], li.quantity) for li in body.lines]
    series = None
    if body.series_id is not None:
        series = InvoiceSeries.objects.filter(
            company_id=caller.company_id, pk=body.series_id
        ).first()
        if series is None:
            raise field_error("series_id", gettext_lazy("unknown series"), "unknown_series")
    if body.contract_id is not None:
        if lines is not None:
            raise field_error(
                "contract_id", gettext_lazy("give either lines or a contract, not both"), "conflict"
            )
        credit = invoice_storno_group(
            invoice=inv, contract_id=body.contract_id, as_of=clock.now(), user=caller.user,
            series=series,
        )  # fmt: skip
    else:
        credit = service(
            invoice=inv, lines=lines, as_of=clock.now(), user=caller.user, series=series
        )
    return Status(201, invoice_detail(Invoice.objects.select_related("series").get(pk=credit.pk)))


class OneOffLineIn(Schema):
    """A line from a product (by code or id; blanks are taken from it) or in free text."""

    product: str | int | None = None
    name: str = Field("", max_length=100)
    description: str = ""
    unit_code: str = ""
    unit_name: str = ""
    quantity: Quantity
    unit_price: Money | None = None
    vat_category: str = ""
    vat_rate: str = ""


class OneOffInvoiceIn(Schema):
    client: str | int  # id, tax id (CUI/CNP) or exact name
    series: str | None = None  # code; the default series when omitted
    issue_date: date | None = None  # today when omitted; never before the series' newest
    due_date: date | None = None
    currency: Currency = "RON"
    price_currency: Currency | None = None
    notes: str = ""
    lines: list[OneOffLineIn]
    email: bool = False  # queue the invoice email to the client at once


@router.post(
    "/invoices",
    response={201: InvoiceDetailOut},
    summary="Issue a one-off invoice (not from a contract)",
)
def create_invoice(request: HttpRequest, body: OneOffInvoiceIn) -> Status:
    from recurent.invoices.oneoff import draft_fields_from_json, invoice_create

    caller = caller_of(request)
    data = body.model_dump(exclude_none=True, mode="json")
    email = data.pop("email", False)
    fields = draft_fields_from_json(company=caller.company, data=data)
    with transaction.atomic():  # the email is queued with the invoice or not at all
        inv = invoice_create(as_of=clock.now(), user=caller.user, **fields)
        if email:
            from recurent.mail.services import outbox_resend

            outbox_resend(invoice=inv, as_of=inv.issued_at)
    return Status(201, invoice_detail(Invoice.objects.select_related("series").get(pk=inv.pk)))


class DraftOut(Schema):
    id: int
    client_id: int
    series_id: int
    issue_date: date | None
    due_date: date | None
    currency: str
    notes: str
    proforma_number: str
    invoice_id: int | None
    # A contract period's proforma (billed by proforma first): its period, what a payment must
    # cover, until when, and whether it expired unpaid.
    contract_id: int | None = None
    period_start: date | None = None
    period_end: date | None = None
    proforma_total: Decimal | None = None
    proforma_expires_on: date | None = None
    proforma_expired_at: datetime | None = None


def _draft_out(d: Any) -> dict[str, Any]:
    return {f: getattr(d, f) for f in DraftOut.model_fields}


@router.get(
    "/proformas",
    response=list[DraftOut],
    summary="Proformas, newest first (a contract's with contract_id); at most 500",
)
def list_proformas(
    request: HttpRequest, contract_id: int | None = Query(None, ge=1, le=MAX_ID)
) -> list[dict[str, Any]]:
    from recurent.invoices.models import InvoiceDraft

    qs = scoped(InvoiceDraft.objects.exclude(proforma_number=""), request)
    if contract_id is not None:
        qs = qs.filter(contract_id=contract_id)
    return [_draft_out(d) for d in qs.order_by("-proforma_issued_at", "-pk")[:500]]


@router.post(
    "/invoice-drafts",
    response={201: DraftOut},
    summary="Save a one-off invoice as a draft (no number until it is issued)",
)
def create_draft(request: HttpRequest, body: OneOffInvoiceIn) -> Status:
    from recurent.invoices.oneoff import draft_fields_from_json, invoice_create_draft

    caller = caller_of(request)
    data = body.model_dump(exclude_none=True, mode="json")
    data.pop("email", None)
    fields = draft_fields_from_json(company=caller.company, data=data)
    d = invoice_create_draft(as_of=clock.now(), user=caller.user, **fields)
    return Status(201, _draft_out(d))


@router.post(
    "/invoice-drafts/{draft_id}/issue",
    response={201: InvoiceDetailOut},
    summary="Issue a draft (or a proforma's draft): it takes the next number of its series",
)
def issue_draft(request: HttpRequest, draft_id: Id) -> Status:
    from recurent.invoices.models import InvoiceDraft
    from recurent.invoices.oneoff import invoice_issue_draft
    from recurent.invoices.proforma import proforma_convert

    caller = caller_of(request)
    d = get_or_404(InvoiceDraft.objects.all(), request, "draft", pk=draft_id)
    # A proforma goes through its own conversion, as on the web: refused once expired, and a
    # contract proforma's one-off charges marked as invoiced by this invoice.
    if d.proforma_number:
        inv = proforma_convert(draft=d, as_of=clock.now(), user=caller.user)
    else:
        inv = invoice_issue_draft(draft=d, as_of=clock.now(), user=caller.user)
    return Status(201, invoice_detail(Invoice.objects.select_related("series").get(pk=inv.pk)))


@router.post(
    "/invoice-drafts/{draft_id}/proforma",
    response={201: DraftOut},
    summary="Issue the draft as a proforma (series PF); its PDF at .../proforma.pdf",
)
def issue_proforma(request: HttpRequest, draft_id: Id) -> Status:
    from recurent.documents.proforma import render
    from recurent.invoices.models import InvoiceDraft
    from recurent.invoices.proforma import proforma_issue

    caller = caller_of(request)
    d = get_or_404(InvoiceDraft.objects.all(), request, "draft", pk=draft_id)
    d = proforma_issue(draft=d, as_of=clock.now(), user=caller.user, render=render)
    return Status(201, _draft_out(d))


@router.get(
    "/invoice-drafts/{draft_id}/proforma.pdf",
    summary="Download a proforma's PDF",
    openapi_extra={"responses": _PDF},
)
def proforma_pdf(request: HttpRequest, draft_id: Id) -> HttpResponse:
    from recurent.invoices.models import InvoiceDraft

    d = get_or_404(InvoiceDraft.objects.all(), request, "draft", pk=draft_id)
    if not d.proforma_pdf:
        raise Problem(404, "not_a_proforma", "this draft was not issued as a proforma")
    response = HttpResponse(bytes(d.proforma_pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{d.proforma_number}.pdf"'
    return response
