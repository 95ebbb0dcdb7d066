"""Downloads of an invoice's stored documents, the document settings (with a PDF preview)
and the annexes of a contract. Thin: access check, form, one service call."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin

from recurent.companies.access import company_required, scoped
from recurent.companies.models import Role
from recurent.companies.selectors import role_in
from recurent.contracts.models import Contract
from recurent.documents import pdf
from recurent.documents.annexes import MAX_TOTAL_BYTES
from recurent.documents.models import Annex, DocumentKind, DocumentSettings
from recurent.documents.services import (
    DocumentInvalid,
    annex_add,
    doc_data,
    document_bytes,
    style_for,
)
from recurent.invoices.models import Invoice
from recurent.web.documents.forms import AnnexForm, DocumentSettingsForm


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
            _("%(number)s: the e-Factura XML fails the check:") % {"number": invoice.full_number}
            + "\n"
            + "\n".join(lines),
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


# ---- settings: the look of the PDF -----------------------------------------------------


def _latest_invoice(company: Any) -> Invoice | None:
    return (
        Invoice.objects.filter(company=company)
        .select_related("company", "series", "credited_invoice")
        .order_by("-issued_at", "-pk")
        .first()
    )


@company_required(Role.ADMIN)
def settings_view(request: HttpRequest) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    current = DocumentSettings.objects.filter(company=company).first() or DocumentSettings(
        company=company
    )
    form = DocumentSettingsForm(request.POST or None, instance=current)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            form.save()  # model validators ran in is_valid; a OneToOne row per company
            messages.success(request, _("Document settings saved."))
            return redirect("documents:settings")
        status = 400
    latest = _latest_invoice(company)
    return render(
        request,
        "documents/settings.html",
        {"form": form, "latest": latest},
        status=status,
    )


@company_required(Role.ADMIN)
@xframe_options_sameorigin  # shown in an <iframe> on the settings page
def settings_preview(request: HttpRequest) -> HttpResponse:
    """The latest invoice's PDF with the settings given in the query (unsaved edits) or the
    saved ones; rendered for the preview only, never stored."""
    company = request.company  # type: ignore[attr-defined]
    invoice = _latest_invoice(company)
    if invoice is None:
        raise Http404("no invoice yet")
    style = style_for(company)
    if request.GET:
        form = DocumentSettingsForm(request.GET, instance=DocumentSettings(company=company))
        if form.is_valid():
            d = form.cleaned_data
            style = replace(
                style, accent=d["accent_color"], footer=d["footer_text"], bilingual=d["bilingual"]
            )
    data = pdf.render(doc_data(invoice), style)
    resp = HttpResponse(data, content_type="application/pdf")
    resp["Content-Disposition"] = f'inline; filename="{invoice.full_number}-preview.pdf"'
    resp["Cache-Control"] = "no-store"
    return resp


# ---- annexes of a contract -------------------------------------------------------------


@company_required(Role.VIEWER)
def contract_annexes(request: HttpRequest, pk: int) -> HttpResponse:
    contract = get_object_or_404(scoped(Contract.objects, request).select_related("client"), pk=pk)
    form = AnnexForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                annex = annex_add(
                    filename=upload.name,
                    content=upload.read(),
                    description=form.cleaned_data["description"],
                    contract=contract,
                )
            except ValidationError as e:
                _apply_errors(form, e)
            else:
                messages.success(request, _("Annex %(name)s added.") % {"name": annex.filename})
                return redirect("documents:contract-annexes", pk=contract.pk)
        status = 400
    annexes = Annex.objects.filter(contract=contract).defer("content").order_by("created_at", "pk")
    return render(
        request,
        "documents/annexes.html",
        {
            "contract": contract,
            "annexes": annexes,
            "total": sum(a.size for a in annexes),
            "limit": MAX_TOTAL_BYTES,
            "form": form,
        },
        status=status,
    )


def _apply_errors(form: AnnexForm, err: ValidationError) -> None:
    # annex_add names "filename"/"file"/"description"; everything about the file goes by it.
    aliases = {"filename": "file", "annex": None}
    for field, msgs in err.message_dict.items():
        target = aliases.get(field, field)
        for m in msgs:
            form.add_error(target if target in form.fields else None, m)


@company_required(Role.VIEWER)
def annex_download(request: HttpRequest, pk: int) -> HttpResponse:
    annex = get_object_or_404(scoped(Annex.objects, request), pk=pk)
    resp = HttpResponse(bytes(annex.content), content_type=annex.mime)
    resp["Content-Disposition"] = content_disposition_header(True, annex.filename) or "attachment"
    resp["X-Content-Type-Options"] = "nosniff"
    return resp
