"""The accountant's screen: accounting exports, the month-close package, the accounts used."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from recurent.accounting.closing import month_close_package
from recurent.accounting.models import (
    AccountingExport,
    AccountingSettings,
    AccountRule,
    ExportFormat,
)
from recurent.accounting.services import ExportFile, accounting_export
from recurent.common import clock
from recurent.companies.access import company_required, scoped
from recurent.web.forms import DateInput


class ExportForm(forms.Form):
    format = forms.ChoiceField(label=gettext_lazy("Format"), choices=ExportFormat.choices)
    date_from = forms.DateField(label=gettext_lazy("From"), widget=DateInput())
    date_to = forms.DateField(label=gettext_lazy("Until"), widget=DateInput())
    only_new = forms.BooleanField(
        label=gettext_lazy("Only invoices not exported yet in this format"), required=False
    )


class MonthForm(forms.Form):
    month = forms.CharField(
        label=gettext_lazy("Month"), widget=forms.TextInput(attrs={"type": "month"})
    )


class SettingsForm(forms.ModelForm):
    class Meta:
        model = AccountingSettings
        fields = [
            "client_account", "revenue_account", "vat_account", "vat_on_collection_account",
            "bank_account", "cash_account", "card_account", "accountant_email", "package_day",
        ]  # fmt: skip


class RuleForm(forms.ModelForm):
    class Meta:
        model = AccountRule
        fields = ["product_code", "vat_category", "revenue_account"]

    def clean(self) -> dict:  # type: ignore[type-arg]
        data = super().clean() or {}
        if not data.get("product_code") and not data.get("vat_category"):
            raise ValidationError(_("Give a product code or a VAT category for the rule."))
        return data


def _last_month(today: date) -> tuple[date, date]:
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def _download(f: ExportFile) -> HttpResponse:
    resp = HttpResponse(f.content, content_type=f.content_type)
    resp["Content-Disposition"] = f'attachment; filename="{f.filename}"'
    return resp


def _show_errors(request: HttpRequest, err: ValidationError) -> None:
    for m in err.messages:
        messages.error(request, m)


@company_required("accountant")
def accounting_index(request: HttpRequest) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    first, last = _last_month(timezone.localdate(clock.now()))
    settings_obj, _created = AccountingSettings.objects.get_or_create(company=company)
    return render(
        request,
        "web/accounting/index.html",
        {
            "export_form": ExportForm(
                initial={"format": "saga", "date_from": first, "date_to": last}
            ),  # fmt: skip
            "month_form": MonthForm(initial={"month": first.strftime("%Y-%m")}),
            "settings_form": SettingsForm(instance=settings_obj),
            "rule_form": RuleForm(),
            "rules": scoped(AccountRule.objects, request).order_by("product_code", "vat_category"),
            "exports": scoped(AccountingExport.objects, request).select_related("created_by")[:10],
        },
    )


@require_POST
@company_required("accountant")
def accounting_export_view(request: HttpRequest) -> HttpResponse:
    form = ExportForm(request.POST)
    if not form.is_valid():
        for field, errs in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            for e in errs:
                messages.error(request, f"{label}: {e}" if label else str(e))
        return redirect("web:accounting")
    try:
        f = accounting_export(
            company=request.company,  # type: ignore[attr-defined]
            fmt=form.cleaned_data["format"], date_from=form.cleaned_data["date_from"],
            date_to=form.cleaned_data["date_to"], only_new=form.cleaned_data["only_new"],
            user=request.user, as_of=clock.now(),
        )  # fmt: skip
    except ValidationError as e:
        _show_errors(request, e)
        return redirect("web:accounting")
    return _download(f)


@company_required("accountant")
def accounting_month_close(request: HttpRequest) -> HttpResponse:
    form = MonthForm(request.GET)
    if not form.is_valid():
        messages.error(request, _("Choose a month."))
        return redirect("web:accounting")
    try:
        f = month_close_package(
            company=request.company,  # type: ignore[attr-defined]
            month=form.cleaned_data["month"], as_of=clock.now(), user=request.user,
        )  # fmt: skip
    except ValidationError as e:
        _show_errors(request, e)
        return redirect("web:accounting")
    return _download(f)


@require_POST
@company_required("admin")
def accounting_settings(request: HttpRequest) -> HttpResponse:
    obj, _created = AccountingSettings.objects.get_or_create(
        company=request.company  # type: ignore[attr-defined]
    )
    form = SettingsForm(request.POST, instance=obj)
    if form.is_valid():
        form.save()
        messages.success(request, _("Accounting settings saved."))
    else:
        for field, errs in form.errors.items():
            for e in errs:
                messages.error(request, f"{form.fields[field].label}: {e}")
    return redirect("web:accounting")


@require_POST
@company_required("admin")
def accounting_rule_add(request: HttpRequest) -> HttpResponse:
    form = RuleForm(request.POST)
    if form.is_valid():
        rule = form.save(commit=False)
        rule.company = request.company  # type: ignore[attr-defined]
        if (
            scoped(AccountRule.objects, request)
            .filter(product_code=rule.product_code, vat_category=rule.vat_category)
            .exists()
        ):
            messages.error(request, _("A rule for this product code and category exists already."))
        else:
            rule.save()
            messages.success(request, _("Rule added."))
    else:
        for e in form.non_field_errors():
            messages.error(request, str(e))
        for field, errs in form.errors.items():
            if field in form.fields:
                for e in errs:
                    messages.error(request, f"{form.fields[field].label}: {e}")
    return redirect("web:accounting")


@require_POST
@company_required("admin")
def accounting_rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(scoped(AccountRule.objects, request), pk=pk).delete()
    messages.success(request, _("Rule deleted."))
    return redirect("web:accounting")
