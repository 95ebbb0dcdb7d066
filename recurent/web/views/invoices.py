"""Invoices: the filtered list and the invoice page (document, totals, VAT, downloads, payments)."""

from __future__ import annotations

from datetime import date

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.dateparse import parse_date

from recurent.common import clock
from recurent.common.access import company_required, scoped
from recurent.companies.models import InvoiceSeries
from recurent.invoices.models import Invoice, InvoiceStatus
from recurent.web import seams
from recurent.web.views.common import paginate, sort

# Payment states offered in the filter (the payments app derives them); without it, the stored status.
PAYMENT_FILTERS = ["unpaid", "partially_paid", "paid", "overdue", "cancelled"]


def _date(request: HttpRequest, key: str) -> date | None:
    try:
        return parse_date(request.GET.get(key) or "")
    except ValueError:
        return None


@company_required("viewer")
def invoice_list(request: HttpRequest) -> HttpResponse:
    qs = scoped(Invoice.objects, request).select_related("series")
    q = (request.GET.get("q") or "").strip()
    if q:
        qs = qs.filter(
            Q(full_number__icontains=q)
            | Q(buyer_name__icontains=q)
            | Q(contract_number__icontains=q)
        )
    client_id = request.GET.get("client") or ""
    if client_id.isdigit():
        qs = qs.filter(client_id=int(client_id))
    series_id = request.GET.get("series") or ""
    if series_id.isdigit():
        qs = qs.filter(series_id=int(series_id))
    date_from, date_to = _date(request, "from"), _date(request, "to")
    if date_from:
        qs = qs.filter(issue_date__gte=date_from)
    if date_to:
        qs = qs.filter(issue_date__lte=date_to)
    has_payments = seams.payments_available()
    if has_payments:
        qs = seams.with_payment_state(qs, clock.now())
    status = request.GET.get("status") or ""
    if status:
        if has_payments and status in PAYMENT_FILTERS:
            qs = qs.filter(payment_state=status)
        elif status in InvoiceStatus.values:
            qs = qs.filter(status=status)
    qs, current = sort(
        request,
        qs,
        {
            "issued": "issued_at",
            "number": "full_number",
            "client": "buyer_name",
            "total": "gross_total",
            "due": "due_date",
        },
        "-issued",
    )
    statuses = (
        [(k, seams.payment_state_labels()[k]) for k in PAYMENT_FILTERS]
        if has_payments
        else list(InvoiceStatus.choices)
    )
    ctx = {
        "page": paginate(request, qs),
        "q": q,
        "sort": current,
        "status": status,
        "statuses": statuses,
        "series_list": scoped(InvoiceSeries.objects, request).order_by("code"),
        "series_id": series_id,
        "client_id": client_id,
        "date_from": request.GET.get("from", ""),
        "date_to": request.GET.get("to", ""),
        "has_payments": has_payments,
        "state_labels": seams.payment_state_labels(),
    }
    return render(request, "web/invoices/list.html", ctx)


@company_required("viewer")
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    qs = scoped(Invoice.objects, request).select_related("series", "contract", "credited_invoice")
    has_payments = seams.payments_available()
    if has_payments:
        qs = seams.with_payment_state(qs, clock.now())
    invoice = get_object_or_404(qs, pk=pk)
    ctx = {
        "invoice": invoice,
        "lines": list(invoice.lines.all()),
        "links": seams.invoice_links(invoice.pk),
        "payments": seams.payments_of(invoice.pk) if has_payments else [],
        "has_payments": has_payments,
        "state_labels": seams.payment_state_labels(),
        "credit_notes": list(invoice.credit_notes.all()),
    }
    return render(request, "web/invoices/detail.html", ctx)
