"""SPV connection page, OAuth callback, supplier invoices, ANAF answers, registry lookup (JSON).

Thin: every decision is in connection.py, services.py and registry.py.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from recurent.common import clock
from recurent.common.errors import messages_of
from recurent.companies.access import company_required, scoped
from recurent.companies.models import Membership, Role
from recurent.efactura import correction, registry, supplier
from recurent.efactura.connection import (
    NeedsReconnect,
    connection_authorize_url,
    connection_complete,
    connection_configure,
    connection_disconnect,
    connection_for,
)
from recurent.efactura.http import AnafError
from recurent.efactura.models import (
    EfacturaState,
    Environment,
    IncomingInvoice,
    InvoiceCorrection,
    SpvConnection,
)
from recurent.efactura.services import (
    NotSendable,
    efactura_send,
    efactura_upload,
    incoming_download,
)
from recurent.invoices.models import Invoice

log = logging.getLogger("recurent.efactura")
OAUTH_SESSION_KEY = "efactura_oauth"

# The e-Factura services refuse with coded, translatable messages (shown here in the user's
# language); ANAF's own answers (status reasons, HTTP errors) are shown as ANAF gave them.


@company_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def settings_view(request: HttpRequest) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    conn = connection_for(company=company)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if "disconnect" in request.POST:
            connection_disconnect(company=company)
            messages.info(request, _("Disconnected from SPV."))
            return redirect("efactura:settings")
        try:
            days = request.POST.get("deadline_days") or "3"
            connection_configure(
                company=company,
                environment=request.POST.get("environment", Environment.TEST),
                client_id=request.POST.get("client_id", ""),
                client_secret=request.POST.get("client_secret") or None,
                auto_upload=request.POST.get("auto_upload") == "on",
                deadline_days=int(days) if days.isdigit() else -1,
                notify_email=request.POST.get("notify_email", ""),
            )
            messages.success(request, _("e-Factura settings saved."))
            return redirect("efactura:settings")
        except ValidationError as e:
            errors = e.message_dict
    return render(
        request,
        "efactura/settings.html",
        {"conn": conn, "errors": errors, "environments": Environment.choices},
    )


@company_required(Role.ADMIN)
@require_POST
def connect_view(request: HttpRequest) -> HttpResponse:
    conn = connection_for(company=request.company)  # type: ignore[attr-defined]
    try:
        url, state = connection_authorize_url(conn=conn)
    except ValidationError as e:
        messages.error(request, "; ".join(e.messages))
        return redirect("efactura:settings")
    request.session[OAUTH_SESSION_KEY] = {"state": state, "company": conn.company_id}
    return redirect(url)


@company_required(Role.ADMIN)
@require_GET
def callback_view(request: HttpRequest) -> HttpResponse:
    pending = request.session.pop(OAUTH_SESSION_KEY, None)
    state = request.GET.get("state", "")
    if not pending or not state or pending.get("state") != state:
        return HttpResponseBadRequest(
            _("This ANAF answer does not match an authorisation started here."),
            content_type="text/plain; charset=utf-8",
        )
    if pending["company"] != request.company.pk:  # type: ignore[attr-defined]
        raise PermissionDenied("the authorisation was started for another company")
    if request.GET.get("error"):
        messages.error(
            request, _("ANAF did not authorise: %(error)s") % {"error": request.GET["error"]}
        )
        return redirect("efactura:settings")
    conn = SpvConnection.objects.get(company_id=pending["company"])
    try:
        connection_complete(conn=conn, code=request.GET.get("code", ""), as_of=clock.now())
    except (AnafError, ValidationError) as e:
        log.warning("company %s: SPV authorisation failed: %s", conn.company_id, e)
        messages.error(request, _("Connecting to SPV failed: %(error)s") % {"error": e})
        return redirect("efactura:settings")
    messages.success(request, _("Connected to ANAF's SPV."))
    return redirect("efactura:settings")


@company_required(Role.ACCOUNTANT)
@require_POST
def send_view(request: HttpRequest, invoice_id: int) -> HttpResponse:
    inv: Invoice = get_object_or_404(scoped(Invoice.objects, request), pk=invoice_id)
    try:
        st = efactura_send(invoice=inv, as_of=clock.now(), resend_rejected=True)
        messages.success(request, f"{inv.full_number}: {st.get_state_display()}.")
    except (ValidationError, NotSendable) as e:
        reasons = getattr(e, "messages", [str(e)])
        messages.error(request, f"{inv.full_number}: {'; '.join(reasons)}")
    return redirect(request.POST.get("next") or reverse("efactura:incoming"))


@company_required(Role.VIEWER)
@require_GET
def answer_view(request: HttpRequest, invoice_id: int) -> HttpResponse:
    st: EfacturaState = get_object_or_404(scoped(EfacturaState.objects, request), pk=invoice_id)
    if st.answer_zip is None:
        raise PermissionDenied("no answer from ANAF stored for this invoice")
    resp = HttpResponse(bytes(st.answer_zip), content_type="application/zip")
    resp["Content-Disposition"] = f'attachment; filename="anaf-{st.upload_index or st.pk}.zip"'
    return resp


@company_required(Role.VIEWER)
@require_http_methods(["GET", "POST"])
def incoming_view(request: HttpRequest) -> HttpResponse:
    """Supplier invoices (one row per invoice, duplicates left out); POST: a ZIP from SPV."""
    company = request.company  # type: ignore[attr-defined]
    errors: list[str] = []
    if request.method == "POST":  # the access check already refused a viewer's POST
        upload = request.FILES.get("zip")
        if upload is None:
            errors.append(_("Choose the ZIP downloaded from SPV."))
        else:
            try:
                row, created = supplier.supplier_invoice_import(
                    company=company, content=upload.read(), as_of=clock.now()
                )
            except ValidationError as e:
                errors.extend(str(m) for m in e.messages)
            else:
                if created:
                    messages.success(
                        request, _("Supplier invoice %(number)s added.") % {"number": row.number}
                    )
                else:
                    messages.info(request, _("Supplier invoice %(number)s was already here; it is kept once.") % {"number": row.number})  # fmt: skip
                return redirect("efactura:incoming-detail", pk=row.pk)
    rows = supplier.supplier_invoices(company_id=company.pk)[:500]
    return render(request, "efactura/incoming.html", {"rows": rows, "errors": errors})


@company_required(Role.VIEWER)
@require_GET
def incoming_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    row: IncomingInvoice = get_object_or_404(
        scoped(IncomingInvoice.objects, request).defer("zip"), pk=pk
    )
    return render(request, "efactura/incoming_detail.html", {"row": row})


@company_required(Role.VIEWER)
@require_GET
def incoming_pdf_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The supplier's invoice as a readable PDF, rendered from the XML in ANAF's ZIP."""
    row: IncomingInvoice = get_object_or_404(scoped(IncomingInvoice.objects, request), pk=pk)
    try:
        content = supplier.supplier_invoice_pdf(incoming=row)
    except supplier.NotReadable as e:
        messages.error(request, str(e))
        return redirect("efactura:incoming-detail", pk=pk)
    resp = HttpResponse(content, content_type="application/pdf")
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", row.number or str(row.pk))
    resp["Content-Disposition"] = f'inline; filename="{name}.pdf"'
    return resp


@company_required(Role.ACCOUNTANT)
@require_GET
def incoming_download_view(request: HttpRequest, pk: int) -> HttpResponse:
    row: IncomingInvoice = get_object_or_404(scoped(IncomingInvoice.objects, request), pk=pk)
    try:
        row = incoming_download(incoming=row, as_of=clock.now())
    except (AnafError, NeedsReconnect) as e:
        messages.error(request, _("Download failed: %(error)s") % {"error": e})
        return redirect("efactura:incoming")
    if not row.read_at:
        supplier.supplier_invoice_read(incoming=row, as_of=clock.now())
    resp = HttpResponse(bytes(row.zip or b""), content_type="application/zip")
    resp["Content-Disposition"] = f'attachment; filename="spv-{row.message_id}.zip"'
    return resp


@require_GET
def registry_lookup_view(request: HttpRequest) -> JsonResponse:
    """GET /efactura/registry/?cui=RO18547290 -> the Client fields ANAF's registry gives."""
    if not request.user.is_authenticated:
        return JsonResponse(
            {"error": {"field": "__all__", "message": _("login required")}}, status=401
        )
    # A superuser without a company yet looks up the CUI of the company being set up.
    if not (request.user.is_superuser or Membership.objects.filter(user=request.user).exists()):
        message = _("your user has no access to a company")
        return JsonResponse({"error": {"field": "__all__", "message": message}}, status=403)
    cui = request.GET.get("cui", "")
    try:
        answers = registry.registry_lookup(cuis=[cui], as_of=clock.now())
    except ValidationError as e:
        return JsonResponse(
            {"error": {"field": "cui", "message": "; ".join(e.messages)}},
            status=400,
        )
    except AnafError as e:
        log.warning("registry lookup for %s failed: %s", cui, e)
        return JsonResponse(
            {
                "error": {
                    "field": "cui",
                    "message": _("ANAF's registry did not answer: %(error)s") % {"error": e},
                }
            },
            status=503,
        )
    a = next(iter(answers.values()))
    if not a.found:
        return JsonResponse({"found": False, "cui": a.cui}, status=404)
    rec = registry.record_from(a.payload)
    return JsonResponse(
        {
            "found": True,
            **rec.as_json(),
            "fields": rec.client_fields(),
            "fetched_at": a.fetched_at.isoformat(),
        }
    )


# --- correcting an invoice ANAF rejected ---------------------------------------------------


FIELD_LABELS = {
    "buyer.kind": gettext_lazy("Kind (company or individual)"),
    "buyer.name": gettext_lazy("Name"),
    "buyer.tax_id": gettext_lazy("CUI/CIF or CNP"),
    "buyer.trade_register": gettext_lazy("Trade register"),
    "buyer.street": gettext_lazy("Street and number"),
    "buyer.city": gettext_lazy("City"),
    "buyer.county": gettext_lazy("County (RO-CJ, RO-B…) or region"),
    "buyer.country": gettext_lazy("Country code"),
    "buyer.postal_code": gettext_lazy("Postal code"),
    "buyer.region": gettext_lazy("Region (outside Romania)"),
    "delivery.date": gettext_lazy("Delivery date (YYYY-MM-DD)"),
    "delivery.street": gettext_lazy("Street and number"),
    "delivery.city": gettext_lazy("City"),
    "delivery.postal_code": gettext_lazy("Postal code"),
    "delivery.county": gettext_lazy("County (RO-CJ, RO-B…) or region"),
    "delivery.country": gettext_lazy("Country code"),
}


def _rows(section: str, fields: tuple[str, ...], values: dict[str, Any], errors: dict) -> list:
    return [
        {
            "key": f"{section}.{f}",
            "label": FIELD_LABELS[f"{section}.{f}"],
            "value": values.get(f) or "",
            "errors": errors.get(f"{section}.{f}", []),
        }
        for f in fields
    ]


def _form_changes(post: Any, current: dict[str, Any]) -> dict[str, Any]:
    """The fields of the form that differ from the current data (only those are corrected)."""
    changes: dict[str, Any] = {}
    for section, fields in (
        ("buyer", correction.BUYER_FIELDS),
        ("delivery", correction.DELIVERY_FIELDS),
    ):
        part = {}
        for f in fields:
            key = f"{section}.{f}"
            if key in post and post[key].strip() != str(current[section].get(f) or ""):
                part[f] = post[key]
        if part:
            changes[section] = part
    if "notes" in post and post["notes"].strip() != (current["notes"] or "").strip():
        changes["notes"] = post["notes"]
    return changes


@company_required(Role.ACCOUNTANT)
@require_http_methods(["GET", "POST"])
def correct_view(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Correct the buyer, delivery data or notes of an invoice ANAF rejected: preview the new
    XML and the check's verdict, then store the correction and send it again."""
    inv: Invoice = get_object_or_404(scoped(Invoice.objects, request), pk=invoice_id)
    current = correction.current_data(inv)
    form = {**current, "reason": ""}
    errors: dict[str, list[str]] = {}
    preview = None
    if request.method == "POST":
        changes = _form_changes(request.POST, current)
        form = {
            "buyer": {**current["buyer"], **changes.get("buyer", {})},
            "delivery": {**current["delivery"], **changes.get("delivery", {})},
            "notes": changes.get("notes", current["notes"]),
            "reason": request.POST.get("reason", ""),
        }
        now = clock.now()
        try:
            if request.POST.get("action") == "preview":
                preview = correction.invoice_efactura_correction_preview(
                    invoice=inv, changes=changes, user=request.user, as_of=now
                )
            else:
                done = correction.invoice_efactura_correct(
                    invoice=inv, changes=changes, user=request.user,
                    reason=request.POST.get("reason", ""), as_of=now,
                )  # fmt: skip
                st = efactura_upload(invoice_id=inv.pk, as_of=now)
                messages.success(
                    request,
                    _("%(number)s corrected (version %(version)s) and sent again: %(state)s.")
                    % {"number": inv.full_number, "version": done.version,
                       "state": st.get_state_display()},
                )  # fmt: skip
                return redirect(reverse("web:invoice", args=[inv.pk]) + "#efactura")
        except ValidationError as e:
            for field, message in messages_of(e):
                errors.setdefault(field, []).append(message)
    state_row = EfacturaState.objects.filter(pk=inv.pk).defer("answer_zip").first()
    return render(
        request,
        "efactura/correct.html",
        {
            "invoice": inv,
            "state": state_row,
            "form": form,
            "errors": errors,
            "preview": preview,
            "general_errors": [
                m for k in ("__all__", "invoice", "changes", "xml") for m in errors.get(k, [])
            ],
            "preview_xml": preview.xml.decode("utf-8") if preview and preview.xml else "",
            "corrections": correction.corrections_of(inv),
            "buyer_rows": _rows("buyer", correction.BUYER_FIELDS, form["buyer"], errors),
            "delivery_rows": _rows(
                "delivery", correction.DELIVERY_FIELDS, form["delivery"], errors
            ),
        },
    )


@company_required(Role.VIEWER)
@require_GET
def correction_xml_view(
    request: HttpRequest, invoice_id: int, version: int, which: str
) -> HttpResponse:
    """One kept XML version: ``which`` is ``xml`` (the correction's) or ``previous`` (the
    rejected one it replaced)."""
    row = get_object_or_404(
        InvoiceCorrection.objects.filter(company_id=request.company.pk),  # type: ignore[attr-defined]
        invoice_id=invoice_id,
        version=version,
    )
    content = bytes(row.previous_xml if which == "previous" else row.xml)
    resp = HttpResponse(content, content_type="application/xml")
    number = re.sub(r"[^A-Za-z0-9._-]+", "_", row.invoice.full_number)
    suffix = f"v{version - 1}" if which == "previous" else f"v{version}"
    resp["Content-Disposition"] = f'attachment; filename="{number}-{suffix}.xml"'
    return resp
