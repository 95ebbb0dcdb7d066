"""New invoice (one-off, not from a contract): a draft with lines, saved or issued.

Thin: the forms read the page, ``invoices.oneoff`` checks, prices, numbers and issues.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from recurent.catalog.models import Product
from recurent.clients.models import Client
from recurent.common import clock
from recurent.companies.access import company_required, scoped
from recurent.companies.models import InvoiceSeries
from recurent.documents.proforma import render as proforma_render
from recurent.engine.cycles import BUCHAREST
from recurent.invoices.models import InvoiceDraft
from recurent.invoices.oneoff import (
    DraftLineSpec,
    invoice_create_draft,
    invoice_draft_update,
    invoice_issue_draft,
)
from recurent.invoices.proforma import proforma_convert, proforma_issue
from recurent.payments.models import PaymentMethod
from recurent.web import panels
from recurent.web.forms import DateInput
from recurent.web.views.common import error_text

VAT_CATEGORIES = [
    ("S", "S"),
    ("Z", "Z"),
    ("E", "E"),
    ("AE", "AE"),
    ("K", "K"),
    ("G", "G"),
    ("O", "O"),
]
VAT_RATES = [
    ("standard", gettext_lazy("standard")),
    ("reduced", gettext_lazy("reduced")),
    ("reduced-low", gettext_lazy("reduced (low)")),
    ("zero", gettext_lazy("zero")),
]


class InvoiceHeaderForm(forms.Form):
    client = forms.ModelChoiceField(queryset=Client.objects.none(), label=gettext_lazy("Client"))
    series = forms.ModelChoiceField(
        queryset=InvoiceSeries.objects.none(), label=gettext_lazy("Series")
    )
    issue_date = forms.DateField(label=gettext_lazy("Issue date"), widget=DateInput())
    due_date = forms.DateField(
        label=gettext_lazy("Due date"), required=False,
        widget=DateInput(),
    )  # fmt: skip
    currency = forms.CharField(label=gettext_lazy("Currency"), max_length=3, initial="RON")
    notes = forms.CharField(label=gettext_lazy("Notes"), required=False, widget=forms.Textarea)
    email = forms.BooleanField(label=gettext_lazy("Email it to the client"), required=False)

    def __init__(self, *args: Any, company: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.fields["client"].queryset = Client.objects.filter(company=company).order_by("name")  # type: ignore[attr-defined]
        self.fields["series"].queryset = InvoiceSeries.objects.filter(  # type: ignore[attr-defined]
            company=company, is_credit=False
        ).order_by("code")


class InvoiceLineForm(forms.Form):
    product = forms.ModelChoiceField(
        queryset=Product.objects.none(), required=False, label=gettext_lazy("Product")
    )
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100, required=False)
    unit_code = forms.CharField(label=gettext_lazy("Unit code"), max_length=3, required=False)
    unit_name = forms.CharField(label=gettext_lazy("Unit"), max_length=20, required=False)
    quantity = forms.DecimalField(label=gettext_lazy("Quantity"), max_digits=14, decimal_places=4)
    unit_price = forms.DecimalField(
        label=gettext_lazy("Unit price"), max_digits=16, decimal_places=4, required=False
    )
    vat_category = forms.ChoiceField(
        label=gettext_lazy("VAT category"), choices=VAT_CATEGORIES, initial="S"
    )
    vat_rate = forms.ChoiceField(
        label=gettext_lazy("VAT rate"), choices=VAT_RATES, initial="standard"
    )

    def __init__(self, *args: Any, company: Any = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.fields["product"].queryset = Product.objects.filter(company=company).order_by("name")  # type: ignore[attr-defined]


LineFormSet = forms.formset_factory(InvoiceLineForm, extra=3, max_num=200)


def _specs(formset: Any) -> list[DraftLineSpec]:
    out = []
    for f in formset.forms:
        c = f.cleaned_data
        if not c or c.get("quantity") is None:
            continue  # an empty row of the page
        p = c.get("product")
        out.append(
            DraftLineSpec(
                quantity=c["quantity"],
                product=p,
                name=c.get("name") or "",
                unit_code=c.get("unit_code") or "",
                unit_name=c.get("unit_name") or "",
                unit_price=c.get("unit_price"),
                # From a product: its VAT unless the row changed it from the defaults.
                vat_category="" if p and c["vat_category"] == "S" else c["vat_category"],
                vat_rate="" if p and c["vat_rate"] == "standard" else c["vat_rate"],
            )  # fmt: skip
        )
    return out


def _initial(
    draft: InvoiceDraft | None, request: HttpRequest
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    today = clock.now().astimezone(BUCHAREST).date()
    if draft is None:
        default = InvoiceSeries.objects.filter(company=request.company, is_default=True).first()  # type: ignore[attr-defined]
        head: dict[str, Any] = {"issue_date": today, "series": default, "currency": "RON"}
        # Back from "add a client" (clients/form.html, then=invoice): that client chosen.
        wanted = request.GET.get("client", "")
        if wanted.isdigit():
            head["client"] = Client.objects.filter(company=request.company, pk=int(wanted)).first()  # type: ignore[attr-defined]
        return head, []
    head = {
        "client": draft.client, "series": draft.series, "issue_date": draft.issue_date or today,
        "due_date": draft.due_date, "currency": draft.currency, "notes": draft.notes,
    }  # fmt: skip
    lines = [
        {
            "product": li.product,
            "name": li.name,
            "unit_code": li.unit_code,
            "unit_name": li.unit_name,
            "quantity": li.quantity,
            "unit_price": li.unit_price,
            "vat_category": li.vat_category,
            "vat_rate": li.vat_rate,
        }  # fmt: skip
        for li in draft.lines.all()
    ]
    return head, lines


@company_required("accountant")
def invoice_new(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """GET: the form (a saved draft when ``pk``); POST: save the draft, or save and issue it."""
    company = request.company  # type: ignore[attr-defined]
    draft = None
    if pk is not None:
        draft = get_object_or_404(scoped(InvoiceDraft.objects, request), pk=pk, invoice=None)
    errors: list[str] = []
    if draft is not None and draft.proforma_number:
        return _proforma_page(request, draft)
    if draft is not None and draft.review_status:  # a contract period under review
        if draft.review_status != "pending":  # skipped: nothing left to do with it
            return redirect("web:review")
        return redirect("web:review-draft", pk=draft.pk)
    if request.method == "POST":
        form = InvoiceHeaderForm(request.POST, company=company)
        formset = LineFormSet(request.POST, form_kwargs={"company": company})
        if form.is_valid() and formset.is_valid():
            c = form.cleaned_data
            fields = {
                "client": c["client"], "series": c["series"], "issue_date": c["issue_date"],
                "due_date": c["due_date"], "currency": c["currency"].upper(),
                "price_currency": c["currency"].upper(), "notes": c["notes"],
            }  # fmt: skip
            now = clock.now()
            try:
                with transaction.atomic():
                    if draft is None:
                        draft = invoice_create_draft(
                            company=company, lines=_specs(formset), as_of=now, user=request.user,
                            **fields,
                        )  # fmt: skip
                    else:
                        draft = invoice_draft_update(
                            draft=draft, lines=_specs(formset), as_of=now, **fields
                        )
                    action = request.POST.get("action")
                    if action == "proforma":
                        draft = proforma_issue(
                            draft=draft, as_of=now, user=request.user, render=proforma_render
                        )
                        messages.success(
                            request,
                            _("Proforma %(number)s issued.") % {"number": draft.proforma_number},
                        )
                        return redirect("web:invoice-draft", pk=draft.pk)
                    if action != "issue":
                        messages.success(
                            request, _("Draft saved. It has no number until it is issued.")
                        )
                        return redirect("web:invoice-draft", pk=draft.pk)
                    inv = invoice_issue_draft(draft=draft, as_of=now, user=request.user)
                    if c["email"]:
                        panels.invoice_resend(invoice=inv, as_of=inv.issued_at)
            except ValidationError as e:
                errors.append(error_text(e))
                if pk is None:
                    draft = None  # rolled back with the transaction
            else:
                messages.success(
                    request, _("Invoice %(number)s issued.") % {"number": inv.full_number}
                )
                return redirect("web:invoice", pk=inv.pk)
    else:
        head, lines = _initial(draft, request)
        form = InvoiceHeaderForm(initial=head, company=company)
        formset = LineFormSet(initial=lines, form_kwargs={"company": company})
    ctx = {"form": form, "formset": formset, "draft": draft, "errors": errors}
    return render(request, "web/invoices/new.html", ctx, status=400 if errors else 200)


class ProformaPaymentForm(forms.Form):
    """A payment received against a proforma: when the proforma's payments cover it, the
    invoice is issued and paid (payments.proformas)."""

    date = forms.DateField(label=gettext_lazy("date"), widget=DateInput())
    amount = forms.DecimalField(label=gettext_lazy("amount"), max_digits=16, decimal_places=2)
    reference = forms.CharField(label=gettext_lazy("reference"), max_length=200, required=False)
    method = forms.ChoiceField(
        label=gettext_lazy("method"), choices=PaymentMethod.choices,
        initial=PaymentMethod.BANK_TRANSFER, required=False,  # left out: a bank transfer
    )  # fmt: skip
    issue_receipt = forms.BooleanField(
        label=gettext_lazy("issue a cash receipt (chitanță)"), required=False
    )


def _proforma_pay(request: HttpRequest, draft: InvoiceDraft, form: ProformaPaymentForm) -> Any:
    from recurent.payments.proformas import proforma_payment_record
    from recurent.web.payments.views import receipt_messages

    c = form.cleaned_data
    payment = proforma_payment_record(
        proforma=draft, date=c["date"], amount=c["amount"], reference=c["reference"],
        method=c["method"] or PaymentMethod.BANK_TRANSFER, issue_receipt=c["issue_receipt"],
        as_of=clock.now(), user=request.user,  # type: ignore[arg-type]
    )  # fmt: skip
    receipt_messages(request, payment)
    draft.refresh_from_db()
    if draft.invoice is not None:
        messages.success(
            request, _("Invoice %(number)s issued.") % {"number": draft.invoice.full_number}
        )
        return redirect("web:invoice", pk=draft.invoice.pk)
    messages.success(request, _("Payment recorded; the proforma is not fully paid yet."))
    return redirect("web:invoice-draft", pk=draft.pk)


def _proforma_page(request: HttpRequest, draft: InvoiceDraft) -> HttpResponse:
    """A draft sent as a proforma: frozen; its PDF, the button that issues the invoice, and
    the payment that issues it when it covers the proforma."""
    from recurent.payments.proformas import proforma_paid

    errors: list[str] = []
    today = clock.now().astimezone(BUCHAREST).date()
    pay_form = ProformaPaymentForm(initial={"date": today, "amount": draft.proforma_total})
    if request.method == "POST":
        try:
            if request.POST.get("action") == "pay":
                pay_form = ProformaPaymentForm(request.POST)
                if pay_form.is_valid():
                    return _proforma_pay(request, draft, pay_form)  # type: ignore[no-any-return]
            else:
                inv = proforma_convert(draft=draft, as_of=clock.now(), user=request.user)
                messages.success(
                    request, _("Invoice %(number)s issued.") % {"number": inv.full_number}
                )
                return redirect("web:invoice", pk=inv.pk)
        except ValidationError as e:
            errors.append(error_text(e))
    ctx = {"draft": draft, "lines": list(draft.lines.all()), "errors": errors,
           "pay_form": pay_form, "paid": proforma_paid(draft)}  # fmt: skip
    bad = errors or pay_form.errors
    return render(request, "web/invoices/proforma.html", ctx, status=400 if bad else 200)


@company_required("viewer")
def proforma_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    draft = get_object_or_404(
        scoped(InvoiceDraft.objects, request), pk=pk, proforma_pdf__isnull=False
    )
    response = HttpResponse(bytes(draft.proforma_pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{draft.proforma_number}.pdf"'
    return response
