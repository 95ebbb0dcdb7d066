"""Invoices: the filtered list and the invoice page (document, totals, VAT, downloads, payments)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from recurent.common import clock
from recurent.companies.access import company_required, scoped
from recurent.companies.models import InvoiceSeries
from recurent.documents.api import render_failure
from recurent.invoices.grouping import invoice_storno_group
from recurent.invoices.models import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus
from recurent.invoices.services import SeriesClockError
from recurent.invoices.storno import credited_quantities, invoice_storno
from recurent.payments import selectors as payment_selectors
from recurent.web import panels
from recurent.web.views.common import DeferredRows, error_text, paginate, sort

# Payment states offered in the filter (the payments app derives them); without it, the stored status.
PAYMENT_FILTERS = ["unpaid", "partially_paid", "paid", "overdue", "cancelled"]
PAYMENT_STATE_COUNT_CAP = 1000
COUNT_CAP = 100_000
LIST_FIELDS = (
    "pk", "company_id", "client_id", "full_number", "buyer_name", "issue_date", "due_date",
    "issued_at", "gross_total", "currency", "status", "kind",
)  # fmt: skip


def _date(request: HttpRequest, key: str) -> date | None:
    try:
        return parse_date(request.GET.get(key) or "")
    except ValueError:
        return None


@company_required("viewer")
def invoice_list(request: HttpRequest) -> HttpResponse:
    # Only what the table shows: the parties' JSON snapshots and the VAT breakdown are large.
    qs = scoped(Invoice.objects, request).only(*LIST_FIELDS)
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
    efactura = request.GET.get("efactura") or ""
    if efactura:
        qs = panels.filter_efactura_state(qs, efactura)
    now = clock.now()
    status = request.GET.get("status") or ""
    by_payment_state = status in PAYMENT_FILTERS
    if by_payment_state:
        # Conditions on the stored balances (payments.selectors.filter_payment_state): the
        # database reads the balance indexes instead of deciding every invoice's state.
        qs = payment_selectors.filter_payment_state(qs, status, now)
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

    def load(ids: list[int]) -> Any:
        rows: Any = Invoice.objects.filter(pk__in=ids).only(*LIST_FIELDS)
        return panels.with_efactura_state(panels.with_payment_state(rows, now))

    # Counting a payment state still joins the balances of every matching invoice: at most 1,000.
    # Any other list is counted up to 100,000 (page 4,000): an exact COUNT of a million invoices
    # took 0.25-0.5 s (bench/web.py at 1,000,000 invoices), more than the rows themselves.
    rows = DeferredRows(qs, load, cap=PAYMENT_STATE_COUNT_CAP if by_payment_state else COUNT_CAP)
    statuses = [(k, panels.payment_state_labels()[k]) for k in PAYMENT_FILTERS]
    ctx = {
        "page": paginate(request, rows),
        "q": q,
        "sort": current,
        "status": status,
        "statuses": statuses,
        "series_list": scoped(InvoiceSeries.objects, request).order_by("code"),
        "series_id": series_id,
        "client_id": client_id,
        "date_from": request.GET.get("from", ""),
        "date_to": request.GET.get("to", ""),
        "state_labels": panels.payment_state_labels(),
        "efactura": efactura,
        "efactura_labels": panels.efactura_state_labels(),
    }
    return render(request, "web/invoices/list.html", ctx)


@company_required("viewer")
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    qs = scoped(Invoice.objects, request).select_related("series", "contract", "credited_invoice")
    qs = panels.with_payment_state(qs, clock.now())
    invoice = get_object_or_404(qs, pk=pk)
    ctx = {
        "invoice": invoice,
        "lines": list(invoice.lines.all()),
        "links": panels.invoice_links(invoice.pk),
        "payments": panels.payments_of(invoice.pk),
        "state_labels": panels.payment_state_labels(),
        "credit_notes": list(invoice.credit_notes.all()),
        "efactura": panels.efactura_of(invoice.pk),
        "efactura_labels": panels.efactura_state_labels(),
        "delivery": panels.delivery_of(invoice.pk),
        "render_failure": render_failure(invoice.pk),
    }
    return render(request, "web/invoices/detail.html", ctx)


def _storno_rows(invoice: Invoice) -> list[dict[str, Any]]:
    done = credited_quantities(invoice)
    rows = []
    for li in invoice.lines.all():
        left = li.quantity - done.get(li.pk, Decimal(0))
        rows.append({"line": li, "left": left, "field": f"qty-{li.pk}"})
    return rows


@company_required("accountant")
def invoice_storno_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The storno form: cancel the whole invoice, or chosen lines and quantities."""
    invoice = get_object_or_404(scoped(Invoice.objects, request), pk=pk)
    rows = _storno_rows(invoice)
    errors: list[str] = []
    if request.method == "POST":
        lines: list[tuple[InvoiceLine, Decimal]] | None = None
        if request.POST.get("mode") == "lines":
            lines = []
            for row in rows:
                raw = (request.POST.get(row["field"]) or "").strip().replace(",", ".")
                if not raw:
                    continue
                try:
                    qty = Decimal(raw)
                except InvalidOperation:
                    errors.append(
                        _("Line %(n)s: %(value)s is not a quantity.")
                        % {"n": row["line"].position, "value": raw}
                    )
                    continue
                row["wanted"] = raw
                if qty != 0:
                    lines.append((row["line"], qty))
        if not errors:
            try:
                if request.POST.get("mode") == "group":  # one contract's lines (issue 18)
                    raw_contract = request.POST.get("contract") or ""
                    credit = invoice_storno_group(
                        invoice=invoice, as_of=clock.now(), user=request.user,
                        contract_id=int(raw_contract) if raw_contract.isdigit() else 0,
                    )  # fmt: skip
                else:
                    credit = invoice_storno(
                        invoice=invoice, lines=lines, as_of=clock.now(), user=request.user
                    )
            except ValidationError as e:
                errors.append(error_text(e))
            except SeriesClockError as e:
                errors.append(str(e))
            else:
                messages.success(
                    request,
                    _("Credit note %(credit)s issued for %(number)s.")
                    % {"credit": credit.full_number, "number": invoice.full_number},
                )
                return redirect("web:invoice", pk=credit.pk)
    ctx = {
        "invoice": invoice,
        "rows": rows,
        "errors": errors,
        "mode": request.POST.get("mode", "whole"),
        # A grouped invoice's line groups: (contract id, what its lines say of it).
        "groups": list(
            {
                r["line"].contract_id: r["line"].description.split(" · ")[0]
                for r in rows
                if r["line"].contract_id
            }.items()
        ),
        "can_storno": invoice.kind == InvoiceKind.INVOICE
        and invoice.status != InvoiceStatus.CANCELLED,
    }
    return render(request, "web/invoices/storno.html", ctx, status=400 if errors else 200)


@company_required("accountant")
@require_POST
def invoice_resend_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue the invoice email again (the mail app's outbox sends it)."""
    invoice = get_object_or_404(scoped(Invoice.objects, request), pk=pk)
    try:
        panels.invoice_resend(invoice=invoice, as_of=clock.now())
    except ValidationError as e:
        messages.error(request, error_text(e))
    else:
        messages.success(
            request, _("Invoice %(number)s queued to be emailed.") % {"number": invoice.full_number}
        )
    return redirect("web:invoice", pk=invoice.pk)
