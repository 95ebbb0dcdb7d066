"""Web screens of the payment side. Thin: read the request, call a service or selector, render."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from recurent.clients.models import Client
from recurent.common import clock
from recurent.common.errors import messages_of
from recurent.companies.access import company_required, scoped
from recurent.invoices.models import Invoice
from recurent.payments import bank, collection, reports, selectors, services
from recurent.payments.models import (
    CollectionRun,
    ColumnMapping,
    CreditorSettings,
    ImportStatus,
    LineStatus,
    Mandate,
    MandateStatus,
    Payment,
    PaymentMethod,
    StatementImport,
    StatementLine,
)

# The payment services refuse with coded, translatable messages (shown here in the user's
# language, in English by the API); these screens put the name of the field before them.
FIELD_LABELS = {
    "allocations": gettext_lazy("Allocation"),
    "amount": gettext_lazy("Amount"),
    "client": gettext_lazy("Client"),
    "collection_date": gettext_lazy("Collection date"),
    "creditor": gettext_lazy("Creditor details"),
    "currency": gettext_lazy("Currency"),
    "date": gettext_lazy("Date"),
    "debtor_iban": gettext_lazy("Debtor IBAN"),
    "file": gettext_lazy("File"),
    "invoice": gettext_lazy("Invoice"),
    "invoices": gettext_lazy("Invoices"),
    "line": gettext_lazy("Line"),
    "account_iban": gettext_lazy("Account IBAN"),
    "date_column": gettext_lazy("Date column"),
    "details_column": gettext_lazy("Details column"),
    "amount_column": gettext_lazy("Amount column"),
    "date_format": gettext_lazy("Date format"),
    "mapping": gettext_lazy("Bank account"),
    "mandate_id": gettext_lazy("Mandate identifier"),
    "method": gettext_lazy("Method"),
    "payment": gettext_lazy("Payment"),
    "reason": gettext_lazy("Reason"),
    "receipt_number": gettext_lazy("Receipt no. (cash)"),
    "schema": gettext_lazy("Format"),
    "status": gettext_lazy("State"),
}


def _field_label(field: str) -> str:
    # "allocations[2].amount" is about the second allocation: named as the allocation.
    base = field.split("[", 1)[0].split(".", 1)[0]
    return str(FIELD_LABELS.get(base, field))


def _errors(request: HttpRequest, err: ValidationError) -> None:
    for field, msg in messages_of(err):
        text = msg
        messages.error(request, text if field == "__all__" else f"{_field_label(field)}: {text}")


def _date(raw: str | None, default: date | None = None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else default
    except ValueError:
        return default


def _allocations_from(request: HttpRequest, open_invoices: list[Any]) -> list[tuple[int, str]]:
    out = []
    for inv in open_invoices:
        raw = (request.POST.get(f"alloc_{inv.pk}") or "").strip()
        if raw and raw not in {"0", "0.00", "0,00"}:
            out.append((inv.pk, raw))
    return out


@company_required("viewer")
def payment_list(request: HttpRequest) -> HttpResponse:
    qs = (
        scoped(Payment.objects, request)
        .select_related("client", "receipt")  # the receipt's PDF link
        .order_by("-date", "-pk")
    )
    client_id = request.GET.get("client")
    if client_id and client_id.isdigit():
        qs = qs.filter(client_id=int(client_id))
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    unmatched = scoped(StatementLine.objects, request).filter(status=LineStatus.UNMATCHED).count()
    return render(request, "payments/list.html", {"page": page, "unmatched": unmatched})


@company_required("accountant")
def payment_record(request: HttpRequest, invoice_id: int | None = None) -> HttpResponse:
    as_of = clock.now()
    invoice = None
    inv_param = invoice_id or request.GET.get("invoice")
    if inv_param:
        invoice = get_object_or_404(scoped(Invoice.objects, request), pk=int(inv_param))
    client_param = request.POST.get("client") or request.GET.get("client")
    client = None
    if invoice is not None:
        client = invoice.client
    elif client_param and str(client_param).isdigit():
        client = get_object_or_404(scoped(Client.objects, request), pk=int(client_param))
    opened = (
        list(selectors.open_invoices(Invoice.objects.filter(client=client), as_of))
        if client
        else []
    )
    if request.method == "POST" and client is not None:
        try:
            p = services.payment_record(
                company=request.company,  # type: ignore[attr-defined]
                client=client,
                date=_date(request.POST.get("date")) or selectors.day_of(as_of),
                amount=request.POST.get("amount", ""),
                currency=request.POST.get("currency", "RON"),
                method=request.POST.get("method", PaymentMethod.BANK_TRANSFER),
                reference=request.POST.get("reference", ""),
                receipt_number=request.POST.get("receipt_number", ""),
                allocations=_allocations_from(request, opened),
                as_of=as_of,
                user=request.user,  # type: ignore[arg-type]
                issue_receipt=request.POST.get("issue_receipt") == "on",
            )
        except ValidationError as e:
            _errors(request, e)
        else:
            messages.success(
                request,
                _("Payment recorded: %(amount)s %(currency)s.")
                % {"amount": p.amount, "currency": p.currency},
            )
            receipt_messages(request, p)
            return redirect("payments:list")
    suggested = {}
    if invoice is not None:
        suggested = {invoice.pk: selectors.outstanding(invoice)}
    return render(
        request,
        "payments/record.html",
        {
            "client": client,
            "invoice": invoice,
            "clients": scoped(Client.objects, request).order_by("name") if client is None else [],
            "open": opened,
            "suggested": suggested,
            "credits": selectors.payments_with_credit(client) if client else [],
            "methods": PaymentMethod.choices,
            "today": selectors.day_of(as_of),
            "post": request.POST,
            "currency": request.POST.get("currency") or (invoice.currency if invoice else "RON"),
        },
    )


@company_required("accountant")
def payment_allocate(request: HttpRequest, pk: int) -> HttpResponse:
    as_of = clock.now()
    payment = get_object_or_404(scoped(Payment.objects, request).select_related("client"), pk=pk)
    opened = list(
        selectors.open_invoices(
            Invoice.objects.filter(client=payment.client, currency=payment.currency), as_of
        )
    )
    if request.method == "POST":
        try:
            services.payment_allocate(
                payment=payment,
                allocations=_allocations_from(request, opened),
                as_of=as_of,
                user=request.user,  # type: ignore[arg-type]
            )
        except ValidationError as e:
            _errors(request, e)
        else:
            messages.success(request, _("Payment allocated."))
            return redirect("payments:list")
    left = selectors.unallocated(payment)
    suggested = {
        inv.pk: amt
        for inv, amt in services.suggest_allocations(
            client=payment.client, amount=left, currency=payment.currency, as_of=as_of
        )
    }
    return render(
        request,
        "payments/allocate.html",
        {"payment": payment, "left": left, "open": opened, "suggested": suggested},
    )


@require_POST
@company_required("accountant")
def payment_reverse(request: HttpRequest, pk: int) -> HttpResponse:
    payment = get_object_or_404(scoped(Payment.objects, request), pk=pk)
    try:
        services.payment_reverse(
            payment=payment,
            reason=request.POST.get("reason", ""),
            as_of=clock.now(),
            user=request.user,  # type: ignore[arg-type]
        )
    except ValidationError as e:
        _errors(request, e)
    else:
        messages.success(request, _("Payment reversed; the reason is kept."))
    return redirect("payments:list")


# --- statements --------------------------------------------------------------------------------


@company_required("viewer")
def statements(request: HttpRequest) -> HttpResponse:
    as_of = clock.now()
    if request.method == "POST":
        if getattr(request, "role", "viewer") == "viewer":
            return HttpResponse(status=403)
        if request.POST.get("action") == "mapping":
            try:
                bank.column_mapping_save(
                    company=request.company,  # type: ignore[attr-defined]
                    account_iban=request.POST.get("account_iban", ""),
                    values=request.POST.dict(),
                    user=request.user,  # type: ignore[arg-type]
                )
            except ValidationError as e:
                _errors(request, e)
            else:
                messages.success(request, _("The CSV columns of the account are saved."))
            return redirect("payments:statements")
        mapping = None
        if (request.POST.get("mapping") or "").isdigit():
            mapping = get_object_or_404(
                scoped(ColumnMapping.objects, request), pk=int(request.POST["mapping"])
            )
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(
                request,
                f"{FIELD_LABELS['file']}: {_('choose the statement (CAMT.053 or MT940)')}",
            )
        else:
            try:
                # Checked whole now (a broken file is refused here, with its line and reason);
                # imported and matched by the worker, the page following its progress.
                imp = bank.statement_receive(
                    company=request.company,  # type: ignore[attr-defined]
                    filename=upload.name or "extras",
                    content=upload.read(bank.MAX_FILE_BYTES + 1),
                    as_of=as_of,
                    user=request.user,  # type: ignore[arg-type]
                    mapping=mapping,
                )
            except ValidationError as e:
                _errors(request, e)
            else:
                return redirect("payments:statement-import", pk=imp.pk)
        return redirect("payments:statements")
    lines = list(
        scoped(StatementLine.objects, request)
        .filter(status=LineStatus.UNMATCHED)
        .select_related("company")
        .order_by("booking_date", "pk")[:100]
    )
    payers = bank.clients_by_iban(request.company.pk)  # type: ignore[attr-defined]
    rows = [(li, bank.match_candidates(li, as_of, payers=payers)) for li in lines]
    imports = scoped(StatementImport.objects, request).defer("content")[:20]
    return render(
        request,
        "payments/statements.html",
        {
            "rows": rows,
            "imports": imports,
            "mappings": scoped(ColumnMapping.objects, request).order_by("account_iban"),
            "date_formats": bank.DATE_FORMATS,
        },
    )


def _import_context(imp: StatementImport) -> dict[str, Any]:
    rules = (imp.report or {}).get("rules", {})
    return {
        "imp": imp,
        "rules": [(_(bank.MatchRule.LABELS.get(k, k)), n) for k, n in rules.items()],
        "suggested": (imp.report or {}).get("suggested", 0),
        "credit": (imp.report or {}).get("credit", 0),
        "waiting": imp.status in {ImportStatus.QUEUED, ImportStatus.RUNNING},
    }


@company_required("viewer")
def statement_import(request: HttpRequest, pk: int) -> HttpResponse:
    imp = get_object_or_404(scoped(StatementImport.objects, request).defer("content"), pk=pk)
    return render(request, "payments/statement_import.html", _import_context(imp))


@company_required("viewer")
def statement_import_status(request: HttpRequest, pk: int) -> HttpResponse:
    imp = get_object_or_404(scoped(StatementImport.objects, request).defer("content"), pk=pk)
    context = _import_context(imp)
    response = render(request, "payments/_statement_import_status.html", context)
    if not context["waiting"] and request.headers.get("HX-Request"):
        response.status_code = 286  # htmx stops polling
    return response


@require_POST
@company_required("accountant")
def statement_line_match(request: HttpRequest, pk: int) -> HttpResponse:
    line = get_object_or_404(scoped(StatementLine.objects, request), pk=pk)
    raw = request.POST.get("invoice", "")
    try:
        if raw == "ignore":
            bank.statement_line_ignore(line=line, user=request.user)  # type: ignore[arg-type]
        else:
            inv = get_object_or_404(
                scoped(Invoice.objects, request), pk=int(raw) if raw.isdigit() else 0
            )
            bank.statement_line_match(
                line=line,
                invoice=inv,
                as_of=clock.now(),
                user=request.user,  # type: ignore[arg-type]
            )
            messages.success(
                request, _("Line matched with %(number)s.") % {"number": inv.full_number}
            )
    except ValidationError as e:
        _errors(request, e)
    return redirect("payments:statements")


# --- direct debit ------------------------------------------------------------------------------


@company_required("viewer")
def mandates(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            if request.POST.get("action") == "creditor":
                collection.creditor_settings_save(
                    company=request.company,  # type: ignore[attr-defined]
                    creditor_id=request.POST.get("creditor_id", ""),
                    bic=request.POST.get("bic", ""),
                    iban=request.POST.get("iban", ""),
                    user=request.user,  # type: ignore[arg-type]
                )
                messages.success(request, _("Creditor details saved."))
            elif request.POST.get("action") == "status":
                m = get_object_or_404(
                    scoped(Mandate.objects, request), pk=request.POST.get("mandate")
                )
                collection.mandate_set_status(
                    mandate=m,
                    status=request.POST.get("status", ""),
                    user=request.user,  # type: ignore[arg-type]
                )
            else:
                client = get_object_or_404(
                    scoped(Client.objects, request), pk=request.POST.get("client") or 0
                )
                collection.mandate_create(
                    company=request.company,  # type: ignore[attr-defined]
                    client=client,
                    mandate_id=request.POST.get("mandate_id", ""),
                    signed_on=_date(request.POST.get("signed_on")) or date.today(),  # noqa: DTZ011
                    debtor_iban=request.POST.get("debtor_iban", ""),
                    debtor_name=request.POST.get("debtor_name", "") or client.name,
                    debtor_bic=request.POST.get("debtor_bic", ""),
                    user=request.user,  # type: ignore[arg-type]
                )
                messages.success(request, _("Mandate recorded."))
        except ValidationError as e:
            _errors(request, e)
        return redirect("payments:mandates")
    return render(
        request,
        "payments/mandates.html",
        {
            "mandates": scoped(Mandate.objects, request).select_related("client"),
            "clients": scoped(Client.objects, request).order_by("name"),
            "creditor": CreditorSettings.objects.filter(company=request.company).first(),  # type: ignore[attr-defined]
            "statuses": MandateStatus.choices,
        },
    )


@company_required("viewer")
def collections(request: HttpRequest) -> HttpResponse:
    as_of = clock.now()
    today = selectors.day_of(as_of)
    when = _date(
        request.POST.get("collection_date") or request.GET.get("date"), today + timedelta(days=5)
    )
    assert when is not None
    currency = (request.POST.get("currency") or request.GET.get("currency") or "RON").upper()
    if request.method == "POST":
        ids = [int(x) for x in request.POST.getlist("invoice") if x.isdigit()]
        try:
            run = collection.collection_create(
                company=request.company,  # type: ignore[attr-defined]
                collection_date=when,
                as_of=as_of,
                user=request.user,  # type: ignore[arg-type]
                currency=currency,
                invoice_ids=ids or None,
                schema=request.POST.get("schema", "pain.008.001.02"),
            )
        except ValidationError as e:
            _errors(request, e)
        else:
            messages.success(
                request,
                ngettext(
                    "Direct-debit file created (%(n)s invoice).",
                    "Direct-debit file created (%(n)s invoices).",
                    run.count,
                )
                % {"n": run.count},
            )
        return redirect("payments:collections")
    company = request.company  # type: ignore[attr-defined]
    due = collection.collectible(
        company=company, collection_date=when, currency=currency, as_of=as_of
    )
    return render(
        request,
        "payments/collections.html",
        {
            "due": due,
            "when": when,
            "currency": currency,
            "runs": scoped(CollectionRun.objects, request)[:30],
            "schemas": collection.SCHEMAS,
        },
    )


@company_required("viewer")
def collection_download(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(scoped(CollectionRun.objects, request), pk=pk)
    resp = HttpResponse(bytes(run.content), content_type="application/xml")
    resp["Content-Disposition"] = (
        f'attachment; filename="debitare-{run.collection_date.isoformat()}-{run.pk}.xml"'
    )
    return resp


# --- reports -----------------------------------------------------------------------------------

REPORTS = {
    "aging": gettext_lazy("Receivables aging"),
    "statement": gettext_lazy("Client statement"),
    "monthly": gettext_lazy("Invoiced vs collected"),
}


@company_required("viewer")
def report_index(request: HttpRequest) -> HttpResponse:
    as_of = clock.now()
    company_id = request.company.pk  # type: ignore[attr-defined]
    return render(
        request,
        "payments/reports.html",
        {
            "aging": reports.aging(company_id, as_of),
            "receivables": selectors.receivables(company_id, as_of),
            "clients": scoped(Client.objects, request).order_by("name"),
            "today": selectors.day_of(as_of),
            "year_start": selectors.day_of(as_of).replace(month=1, day=1),
        },
    )


@company_required("viewer")
def report_download(request: HttpRequest, kind: str, fmt: str) -> HttpResponse:
    as_of = clock.now()
    company_id = request.company.pk  # type: ignore[attr-defined]
    currency = (request.GET.get("currency") or "RON").upper()[:3]
    if kind == "aging":
        table = reports.aging(company_id, as_of, currency)
    elif kind == "monthly":
        months = request.GET.get("months", "12")
        table = reports.invoiced_vs_collected(
            company_id, max(1, min(int(months) if months.isdigit() else 12, 60)), as_of, currency
        )
    elif kind == "statement":
        client = get_object_or_404(
            scoped(Client.objects, request), pk=request.GET.get("client") or 0
        )
        today = selectors.day_of(as_of)
        start = _date(request.GET.get("from"), today.replace(month=1, day=1))
        end = _date(request.GET.get("to"), today)
        assert start is not None and end is not None
        table = reports.client_statement(client, start, end, currency)
    else:
        return HttpResponse(status=404)
    name = f"{kind}-{selectors.day_of(as_of).isoformat()}"
    if fmt == "xlsx":
        resp = HttpResponse(
            reports.to_xlsx(table),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        resp["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    elif fmt == "csv":
        resp = HttpResponse(reports.to_csv(table), content_type="text/csv; charset=utf-8")
        resp["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    else:
        return HttpResponse(status=404)
    return resp


def receipt_messages(request: HttpRequest, payment: Payment) -> None:
    from recurent.invoices.models import Receipt
    from recurent.payments.receipts import receipt_warning

    receipt = Receipt.objects.filter(payment=payment).first()
    if receipt is None:
        return
    messages.success(request, _("Receipt %(number)s issued.") % {"number": receipt.full_number})
    if receipt.over_cash_limit:
        messages.warning(request, receipt_warning(receipt))


@company_required("viewer")
def receipt_pdf_view(request: HttpRequest, pk: int) -> HttpResponse:
    from recurent.invoices.models import Receipt
    from recurent.payments.receipts import receipt_pdf

    receipt = get_object_or_404(scoped(Receipt.objects, request), pk=pk)
    response = HttpResponse(receipt_pdf(receipt), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{receipt.full_number}.pdf"'
    return response
