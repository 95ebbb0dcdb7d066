"""Contracts: list, the tabbed form (General / Products / Billing), the contract page, actions."""

from __future__ import annotations

import re
from itertools import islice
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from recurent.catalog.models import Product
from recurent.common import clock
from recurent.companies.access import company_required, has_role, scoped
from recurent.companies.models import InvoiceSeries
from recurent.contracts import charges as charge_services
from recurent.contracts import indexation, services
from recurent.contracts.models import ChargeKind, Contract, ContractCharge, ContractStatus
from recurent.engine import vat
from recurent.engine.cycles import BUCHAREST, Cycle, Schedule, wall_clock
from recurent.invoices import services as invoice_services
from recurent.invoices.cancellation import contract_cancel_crediting
from recurent.invoices.models import Invoice
from recurent.web import panels
from recurent.web.forms import (
    VAT_CATEGORY_CHOICES,
    VAT_RATE_CHOICES,
    CancelForm,
    ContractForm,
    ContractLineFormSet,
    LocalDateTimeField,
)
from recurent.web.forms_inline import quick_forms
from recurent.web.views.common import apply_errors, error_text, paginate, sort
from recurent.web.views.contract_discounts import discount_action, discount_context


@company_required("viewer")
def contract_list(request: HttpRequest) -> HttpResponse:
    qs = scoped(Contract.objects, request).select_related("client", "series")
    q = (request.GET.get("q") or "").strip()
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(client__name__icontains=q))
    status = request.GET.get("status") or ""
    if status == "attention":
        qs = qs.exclude(hold_kind="")
    elif status in ContractStatus.values:
        qs = qs.filter(status=status)
    qs, current = sort(
        request,
        qs,
        {
            "number": "number",
            "client": "client__name",
            "signed": "signed_on",
            "next": "next_issue_at",
        },
        "-signed",
    )
    ctx = {
        "page": paginate(request, qs),
        "q": q,
        "status": status,
        "sort": current,
        "statuses": ContractStatus.choices,
    }
    return render(request, "web/contracts/list.html", ctx)


def suggest_number(contracts: Any) -> str:
    """The number after the company's latest contract ("CTR-0041" -> "CTR-0042"), or CTR-0001.

    Only a suggestion in the form: the user may type any number.
    """
    last = contracts.order_by("-created_at", "-pk").values_list("number", flat=True).first()
    m = re.match(r"^(.*?)(\d+)(\D*)$", last or "")
    if not m:
        return "CTR-0001" if not last else f"{last}-2"
    head, digits, tail = m.groups()
    taken = set(contracts.values_list("number", flat=True))
    n = int(digits)
    while True:
        n += 1
        candidate = f"{head}{n:0{len(digits)}d}{tail}"
        if candidate not in taken:
            return candidate


def _products(request: HttpRequest) -> Any:
    return scoped(Product.objects, request).filter(active=True).order_by("code")


def _product_options(products: Any) -> list[dict[str, Any]]:
    """Catalogue entries with the VAT rate in force today, for the running total in the browser."""
    today = clock.now().astimezone(BUCHAREST).date()
    out = []
    for p in products:
        try:
            rate = vat.rate_on(
                vat.parse_category(p.vat_category), vat.parse_rate_code(p.vat_rate), today
            )
        except vat.VatError:
            rate = None
        out.append({"p": p, "rate": rate})
    return out


def _line_initial(contract: Contract) -> list[dict[str, Any]]:
    return [
        {
            "product": li.product_id,
            "quantity": li.quantity,
            "unit_price": li.unit_price,
            "description": li.description,
            "portal": li.self_service,
            "portal_min": li.min_quantity,
            "portal_max": li.max_quantity,
            "portal_step": li.quantity_step,
        }
        for li in contract.lines.filter(until_index__isnull=True).order_by("position", "pk")
    ]


def _specs(formset: Any) -> list[tuple[Any, services.LineSpec]]:
    """The kept lines with the form each came from (the service numbers errors by this order)."""
    out = []
    for f in formset.forms:
        d = f.cleaned_data
        if not d or d.get("DELETE") or not d.get("product"):
            continue
        spec = services.LineSpec(
            product=d["product"],
            quantity=d["quantity"],
            unit_price=d.get("unit_price"),
            description=d.get("description") or "",
            self_service=bool(d.get("portal")),
            min_quantity=d.get("portal_min"),
            max_quantity=d.get("portal_max"),
            quantity_step=d.get("portal_step"),
        )
        out.append((f, spec))
    return out


LINE_KEY = re.compile(r"^lines\[(?P<n>\d+)\](?:\.(?P<field>\w+))?$")
# The service's names of the portal bounds, as the line form calls them.
LINE_FIELDS = {
    "min_quantity": "portal_min",
    "max_quantity": "portal_max",
    "quantity_step": "portal_step",
}


def _apply_contract_errors(
    form: ContractForm, formset: Any, lines: list[tuple[Any, Any]], err: ValidationError
) -> None:
    """A service error goes next to its field; ``lines[2].quantity`` to the second kept line."""
    if not hasattr(err, "error_dict"):
        apply_errors(form, err)
        return
    rest: dict[str, list[Any]] = {}
    for key, errors in err.error_dict.items():
        m = LINE_KEY.match(key)
        n = int(m["n"]) if m else 0
        if m and 1 <= n <= len(lines):
            line_form = lines[n - 1][0]
            name = LINE_FIELDS.get(m["field"] or "", m["field"])
            field = name if name in line_form.fields else None
            for e in errors:
                line_form.add_error(field, error_text(ValidationError([e])))
        elif key == "lines":
            formset.non_form_errors().append(error_text(ValidationError(errors)))
        else:
            rest[key] = errors
    if rest:
        apply_errors(form, ValidationError(rest))


def _error_summary(form: ContractForm, formset: Any) -> list[dict[str, str]]:
    """Every error of the form in words, with the tab that holds it (the banner above the tabs)."""
    out: list[dict[str, str]] = []
    for e in form.non_field_errors():
        out.append({"tab": "tab-general", "text": str(e)})
    for name in list(ContractForm.GENERAL) + list(ContractForm.BILLING):
        tab = "tab-general" if name in ContractForm.GENERAL else "tab-billing"
        for e in form[name].errors:
            out.append({"tab": tab, "text": f"{capfirst(form[name].label)}: {e}"})
    for e in formset.non_form_errors():
        out.append({"tab": "tab-products", "text": f"{_('Products')}: {e}"})
    for i, f in enumerate(formset.forms, start=1):
        for name, errors in f.errors.items():
            label = capfirst(f.fields[name].label) if name in f.fields else ""
            for e in errors:
                where = _("Line %(n)s") % {"n": i}
                text = f"{where}, {label}: {e}" if label else f"{where}: {e}"
                out.append({"tab": "tab-products", "text": text})
    return out


def _contract_form(request: HttpRequest, contract: Contract | None) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    user: Any = request.user
    products = _products(request)
    data = request.POST if request.method == "POST" else None
    initial: dict[str, Any] = {}
    if contract is None:
        today = clock.now().astimezone(BUCHAREST).date()
        initial = {
            "issuer": request.user.pk,
            "client": request.GET.get("client"),
            "number": suggest_number(scoped(Contract.objects, request)),
            "signed_on": today,
        }
        default = scoped(InvoiceSeries.objects, request).filter(is_default=True).first()
        if default:
            initial["series"] = default.pk
    form = ContractForm(data, instance=contract, company=company, initial=initial)
    formset = ContractLineFormSet(
        data,
        prefix="lines",
        initial=_line_initial(contract) if contract else [{"quantity": 1}],
        form_kwargs={"products": products},
    )
    # Both validated: the banner lists the errors of every tab at once.
    form_ok, lines_ok = form.is_valid(), formset.is_valid()
    lines: list[tuple[Any, services.LineSpec]] = []
    if request.method == "POST" and form_ok and lines_ok:
        fields = {k: form.cleaned_data[k] for k in ContractForm.Meta.fields}
        lines = _specs(formset)
        specs = [spec for _f, spec in lines]
        try:
            if contract is None:
                contract = services.contract_create(
                    company=company,
                    lines=specs,
                    user=user,
                    activate="activate" in request.POST,
                    **fields,
                )
                messages.success(
                    request, _("Contract %(number)s created.") % {"number": contract.number}
                )
            else:
                contract = services.contract_edit(
                    contract=contract, user=user, lines=specs, **fields
                )
                messages.success(
                    request, _("Contract %(number)s saved.") % {"number": contract.number}
                )
            return redirect("web:contract", pk=contract.pk)
        except ValidationError as e:
            _apply_contract_errors(form, formset, lines, e)
    errors = _error_summary(form, formset) if request.method == "POST" else []
    ctx = {
        "form": form,
        "formset": formset,
        "errors": errors,
        "error_tabs": {e["tab"] for e in errors},
        "object": contract,
        "products": _product_options(products),
        # "+ New client" / "+ New product" dialogs (contract_inline.py answers them).
        **quick_forms(),
    }
    return render(request, "web/contracts/form.html", ctx)


@company_required("accountant")
def contract_schedule_preview(request: HttpRequest) -> JsonResponse:
    """The next issue dates and periods of the contract being typed (the engine's schedule,
    not a copy in JavaScript); the form multiplies them by its running total per invoice."""
    field = LocalDateTimeField(required=False)
    try:
        first = field.clean(request.GET.get("first_issue_at") or None)
        ends = field.clean(request.GET.get("ends_at") or None)
        if first is None:
            return JsonResponse({"periods": []})
        every = int(request.GET["every_days"]) if request.GET.get("every_days") else None
        schedule = Schedule(
            first_wall=wall_clock(first),
            cycle=Cycle.parse(request.GET.get("cycle") or "monthly", every),
            end=ends,
            in_arrears=request.GET.get("in_arrears") in {"on", "true", "1"},
        )
        periods = list(islice(schedule.periods(0), 6))
    except (ValidationError, ValueError, TypeError, KeyError):
        return JsonResponse({"periods": []})
    return JsonResponse(
        {
            "periods": [
                {
                    "issue_at": date_format(
                        p.issue_at.astimezone(BUCHAREST), "SHORT_DATETIME_FORMAT"
                    ),
                    "period": f"{date_format(p.start, 'SHORT_DATE_FORMAT')} – "
                    f"{date_format(p.end, 'SHORT_DATE_FORMAT')}",
                }
                for p in periods
            ]
        }
    )


@company_required("accountant")
def contract_create_view(request: HttpRequest) -> HttpResponse:
    return _contract_form(request, None)


@company_required("accountant")
def contract_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _contract_form(request, get_object_or_404(scoped(Contract.objects, request), pk=pk))


class ChargeForm(forms.Form):
    """A one-off charge or credit (contracts.charges.charge_add checks it)."""

    kind = forms.ChoiceField(label=gettext_lazy("kind"), choices=ChargeKind.choices)
    description = forms.CharField(label=gettext_lazy("description"), max_length=100)
    quantity = forms.CharField(label=gettext_lazy("quantity"), initial="1", max_length=30)
    unit_price = forms.CharField(label=gettext_lazy("unit price"), max_length=30)
    unit_code = forms.CharField(label=gettext_lazy("unit"), initial="C62", max_length=3)
    # The product form's labels: the Romanian page shows no raw code ("reduced") (issue 16).
    vat_category = forms.ChoiceField(
        label=gettext_lazy("VAT category"), choices=VAT_CATEGORY_CHOICES
    )
    vat_rate = forms.ChoiceField(label=gettext_lazy("VAT rate"), choices=VAT_RATE_CHOICES)


def _charge_action(request: HttpRequest, contract: Contract, action: str) -> None:
    user: Any = request.user
    if action == "charge-add":
        form = ChargeForm(request.POST)
        form.is_valid()
        data = {k: request.POST.get(k, "") for k in ChargeForm.base_fields}
        charge_services.charge_add(contract=contract, user=user, as_of=clock.now(), **data)
        messages.success(request, _("Added to the contract's next invoice."))
    else:
        charge = get_object_or_404(
            ContractCharge, pk=request.POST.get("charge") or 0, contract=contract
        )
        charge_services.charge_remove(charge=charge, user=user, as_of=clock.now())
        messages.success(request, _("Removed: it will not be invoiced."))


@company_required("viewer")
def contract_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contract = get_object_or_404(
        scoped(Contract.objects, request).select_related("client", "series", "issuer"), pk=pk
    )
    upcoming = []
    if contract.status in {ContractStatus.ACTIVE, ContractStatus.DRAFT, ContractStatus.PAUSED}:
        # With their amounts, drafted as the billing engine will (charges, lines in force, VAT),
        # and an announced yearly indexation as it will be in force from its day.
        with indexation.as_if_indexed(contract=contract, as_of=clock.now()):
            upcoming = invoice_services.contract_upcoming(
                contract=contract, as_of=clock.now(), count=12
            )
    lines = contract.lines.select_related("product").order_by("from_index", "position", "pk")
    # The payment state written by the payments services (not the issue status: a paid invoice
    # reads "paid" here as on the invoice list).
    invoices = panels.with_payment_state(
        Invoice.objects.filter(contract=contract).select_related("series").order_by("-issued_at"),
        clock.now(),
    )
    ctx = {
        "state_labels": panels.payment_state_labels(),
        "contract": contract,
        "lines": [li for li in lines if li.until_index is None],
        # Variable lines (contracts.usage): each next period links to its usage page.
        "variable": any(li.variable for li in lines),
        "upcoming": upcoming,
        "invoices": paginate(request, invoices, 12),
        # Billed by proforma first: its proformas, open, invoiced or expired (newest first).
        "proformas": contract.proformas.exclude(proforma_number="")
        .select_related("invoice")
        .order_by("-period_index")[:24],
        "changes": contract.changes.select_related("user")[:100],
        "charges": ContractCharge.objects.filter(contract=contract, invoice__isnull=True)
        .select_related("created_by")
        .order_by("created_at", "pk"),
        "can_edit": has_role(request, "accountant"),
        "charge_form": ChargeForm()
        if contract.status not in {ContractStatus.CANCELLED, ContractStatus.ENDED}
        else None,
        # "Issue now" for a due contract (the worker would issue it at its next pass).
        "due_now": contract.status == ContractStatus.ACTIVE
        and contract.next_issue_at is not None
        and contract.next_issue_at <= clock.now()
        and not contract.hold_kind,
        "cancel_form": CancelForm(
            initial={"credit_unused": contract.company.proration_policy == "immediately"}
        ),
        **discount_context(contract),  # the Discounts section (web/views/contract_discounts.py)
        # Shown before the client's next invoice: the registry re-check found something.
        "flags": panels.clients_flagged(contract.company_id, contract.client_id)
        if upcoming
        else [],
    }
    return render(request, "web/contracts/detail.html", ctx)


ACTIONS = {
    "activate": (services.contract_activate, gettext_lazy("Contract activated.")),
    "pause": (
        services.contract_pause,
        gettext_lazy("Contract paused: nothing is invoiced until it is resumed."),
    ),
    "resume": (services.contract_resume, gettext_lazy("Contract resumed.")),
}


def _issue_now(request: HttpRequest, contract: Contract) -> None:
    """Issue the contract's due period now with the worker's own service (``issue_batch``):
    the block is this contract alone, the company's other due contracts being left out."""
    now = clock.now()
    if contract.status != ContractStatus.ACTIVE or contract.next_issue_at is None:
        messages.error(request, _("Only an active contract is invoiced."))
        return
    if contract.next_issue_at > now:
        messages.error(
            request,
            _("Nothing is due yet: the next invoice is issued on %(at)s.")
            % {"at": date_format(contract.next_issue_at.astimezone(BUCHAREST), "DATETIME_FORMAT")},
        )
        return
    others = set(
        invoice_services.due_contracts(now, company_id=contract.company_id)
        .exclude(pk=contract.pk)
        .values_list("pk", flat=True)
    )
    result = invoice_services.issue_batch(
        as_of=None, batch_size=1, company_id=contract.company_id, exclude=others
    )
    issued = list(Invoice.objects.filter(pk__in=result.issued, contract=contract))
    if issued:
        messages.success(
            request, _("Invoice %(number)s issued.") % {"number": issued[0].full_number}
        )
        return
    reason = next((r for cid, r in result.held if cid == contract.pk), "")
    if reason:
        messages.error(request, _("The invoice was not issued: %(reason)s") % {"reason": reason})
    else:
        messages.error(request, _("Nothing was issued: the contract is not due any more."))


def _cancel(request: HttpRequest, contract: Contract, user: Any, now: Any) -> None:
    """Cancel now or at the period's end; the box decides the credit of the unused days."""
    form = CancelForm(request.POST)
    form.is_valid()
    at_period_end = bool(form.cleaned_data.get("at_period_end"))
    _c, credit = contract_cancel_crediting(
        contract=contract, user=user, as_of=now, at_period_end=at_period_end,
        credit_unused=bool(form.cleaned_data.get("credit_unused")),
    )  # fmt: skip
    if at_period_end:
        messages.success(request, _("The contract ends with the current period."))
    elif credit is not None:
        messages.success(
            request,
            _("Contract cancelled. Credit note %(number)s gives back the unused days: %(amount)s.")
            % {"number": credit.full_number, "amount": f"{credit.gross_total} {credit.currency}"},
        )
    else:
        messages.success(request, _("Contract cancelled."))


@require_POST
@company_required("accountant")
def contract_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    contract = get_object_or_404(scoped(Contract.objects, request), pk=pk)
    user: Any = request.user
    now = clock.now()
    try:
        if action == "issue-now":
            _issue_now(request, contract)
        elif action in {"charge-add", "charge-remove"}:
            _charge_action(request, contract, action)
        elif action in {"discount-add", "discount-remove"}:
            discount_action(request, contract, action)
        elif action == "release":
            services.contract_release_hold(contract=contract, user=user)
            messages.success(
                request, _("The contract will be tried again by the next billing run.")
            )
        elif action == "cancel":
            _cancel(request, contract, user, now)
        elif action in ACTIONS:
            fn, done = ACTIONS[action]
            fn(contract=contract, user=user, as_of=now)
            messages.success(request, str(done))
        else:
            return HttpResponse(status=404)
    except ValidationError as e:
        messages.error(request, error_text(e))
    return redirect("web:contract", pk=contract.pk)
