"""Late-payment interest in the company's settings: the rule, what is due today per client, and
the "Facturează penalități" button (recurent.payments.interest; docs/interest.md)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from recurent.common import clock
from recurent.companies.access import company_required, has_role
from recurent.companies.models import Company
from recurent.engine.cycles import BUCHAREST
from recurent.payments.interest import (
    contracts_without_rate,
    interest_due,
    interest_invoice,
    interest_settings_update,
)
from recurent.web.views.common import apply_errors


class InterestSettingsForm(forms.ModelForm):
    class Meta:
        model = Company
        fields = ["interest_enabled", "interest_rule", "interest_daily_percent",
                  "interest_min_amount"]  # fmt: skip


@company_required("accountant")
def interest_settings(request: HttpRequest) -> HttpResponse:
    company = Company.objects.get(pk=request.company.pk)  # type: ignore[attr-defined]
    is_admin = has_role(request, "admin")
    form = InterestSettingsForm(request.POST or None, instance=company)
    if request.method == "POST" and is_admin and form.is_valid():
        c = form.cleaned_data
        try:
            interest_settings_update(
                company=company, enabled=c["interest_enabled"], rule=c["interest_rule"],
                daily_percent=c["interest_daily_percent"], min_amount=c["interest_min_amount"],
            )  # fmt: skip
            messages.success(request, _("Late-payment interest settings saved."))
            return redirect("web:interest")
        except ValidationError as e:
            apply_errors(form, e)
    today = clock.now().astimezone(BUCHAREST).date()
    try:
        due = interest_due(company=company, day=today)
    except ValidationError as e:
        due = []
        for m in e.messages:
            messages.error(request, m)
    return render(
        request,
        "web/settings/interest.html",
        {
            "form": form,
            "is_admin": is_admin,
            "due": due,
            "today": today,
            "without_rate": contracts_without_rate(company),
        },  # fmt: skip
    )


@company_required("accountant")
@require_POST
def interest_issue(request: HttpRequest) -> HttpResponse:
    """The "Facturează penalități" button: every client's interest invoice due today, emailed."""
    try:
        done = interest_invoice(
            company=request.company,  # type: ignore[attr-defined]
            as_of=clock.now(), user=request.user, email=bool(request.POST.get("email")),
        )  # fmt: skip
    except ValidationError as e:
        for m in e.messages:
            messages.error(request, m)
        return redirect("web:interest")
    refused = [d for d in done if d.error]
    for d in refused:
        messages.error(request, f"{d.client.name}: {d.error}")
    done = [d for d in done if not d.error]
    if done:
        n = len(done)
        messages.success(
            request,
            ngettext("%(n)s interest invoice issued: %(numbers)s",
                     "%(n)s interest invoices issued: %(numbers)s", n)
            % {"n": n, "numbers": ", ".join(d.invoice.full_number for d in done if d.invoice)},
        )  # fmt: skip
    elif not refused:
        messages.info(request, _("No late-payment interest to invoice today."))
    return redirect("web:interest")
