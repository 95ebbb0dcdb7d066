"""Downloads of an invoice's stored documents. Thin: access check, then document_bytes."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from recurent.companies.selectors import role_in
from recurent.invoices.models import Invoice

from .models import DocumentKind
from .services import DocumentInvalid, document_bytes


def _download(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    invoice = get_object_or_404(Invoice.objects.select_related("company"), pk=pk)
    # Another company's invoice does not exist for this user (404, not 403: no probing).
    if role_in(request.user, invoice.company) is None:  # type: ignore[arg-type]  # login_required
        raise Http404("no such invoice")
    try:
        data = document_bytes(invoice, kind)
    except DocumentInvalid as e:
        lines = [f"[{f['rule']}] {f['message']}" for f in e.findings]
        return HttpResponse(
            f"{invoice.full_number}: the e-Factura XML fails the check:\n" + "\n".join(lines),
            status=409,
            content_type="text/plain; charset=utf-8",
        )
    ext, ctype = (
        ("pdf", "application/pdf") if kind == DocumentKind.PDF else ("xml", "application/xml")
    )
    resp = HttpResponse(data, content_type=ctype)
    disposition = (
        "inline" if kind == DocumentKind.PDF and "download" not in request.GET else "attachment"
    )
    resp["Content-Disposition"] = f'{disposition}; filename="{invoice.full_number}.{ext}"'
    resp["X-Content-Type-Options"] = "nosniff"
    return resp


@login_required
def invoice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    return _download(request, pk, DocumentKind.PDF)


@login_required
def invoice_xml(request: HttpRequest, pk: int) -> HttpResponse:
    return _download(request, pk, DocumentKind.XML)
