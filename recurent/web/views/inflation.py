"""The CPI table in the company's settings (yearly indexation by inflation, docs/indexation.md)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from recurent.companies.access import company_required
from recurent.rates.inflation import inflation_rate_delete, inflation_rate_set, inflation_table
from recurent.web.views.common import apply_errors


class InflationForm(forms.Form):
    year = forms.IntegerField(label=gettext_lazy("year"))
    percent = forms.CharField(
        label=gettext_lazy("annual inflation rate (%)"),
        help_text=gettext_lazy("December vs December of the year before, as INS publishes it."),
    )


@company_required("admin")
def inflation_rates(request: HttpRequest) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    form = InflationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            row = inflation_rate_set(company=company, **form.cleaned_data)
            messages.success(request, _("Inflation rate of %(year)s saved.") % {"year": row.year})
            return redirect("web:inflation-rates")
        except ValidationError as e:
            apply_errors(form, e)
    return render(
        request,
        "web/settings/inflation.html",
        {"form": form, "rows": inflation_table(company=company)},
    )


@company_required("admin")
@require_POST
def inflation_rate_remove(request: HttpRequest, year: int) -> HttpResponse:
    try:
        inflation_rate_delete(company=request.company, year=year)  # type: ignore[attr-defined]
        messages.success(request, _("Your figure for %(year)s was removed.") % {"year": year})
    except ValidationError as e:
        for m in e.messages:
            messages.error(request, m)
    return redirect("web:inflation-rates")
