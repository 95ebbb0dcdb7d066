"""Company settings (seller data, logo) for administrators; links to the other settings screens."""

from __future__ import annotations

import mimetypes

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from recurent.companies.access import company_required
from recurent.companies.models import Company, Membership
from recurent.companies.services import company_update
from recurent.web.forms import CompanyForm
from recurent.web.templatetags.web import safe_reverse
from recurent.web.views.common import apply_errors


@company_required("admin")
def company_settings(request: HttpRequest) -> HttpResponse:
    company = Company.objects.get(pk=request.company.pk)  # type: ignore[attr-defined]
    form = CompanyForm(request.POST or None, request.FILES or None, instance=company)
    if request.method == "POST" and form.is_valid():
        try:
            company_update(company=Company.objects.get(pk=company.pk), **form.cleaned_data)
            messages.success(request, _("Company details saved."))
            return redirect("web:settings")
        except ValidationError as e:
            apply_errors(form, e)
    members = (
        Membership.objects.filter(company=company).select_related("user").order_by("user__username")
    )
    # SMTP and e-Factura credentials are edited in their own apps when those apps provide a screen.
    other = [
        (label, url)
        for label, url in [
            (_("Email (SMTP) settings"), safe_reverse("mail:settings")),
            (_("e-Factura (ANAF SPV) connection"), safe_reverse("efactura:settings")),
            (_("Invoice series"), safe_reverse("web:series")),
            (_("Late-payment interest"), safe_reverse("web:interest")),
            (_("Inflation rates (CPI)"), safe_reverse("web:inflation-rates")),
        ]
        if url
    ]
    return render(
        request,
        "web/settings/company.html",
        {
            "form": form,
            "members": members,
            "other": other,
            "tokens_url": safe_reverse("web:api-tokens"),
        },
    )


@company_required("viewer")
def company_logo(request: HttpRequest) -> HttpResponse:
    """The current company's logo (the settings page links to it; media files are not served)."""
    company = Company.objects.get(pk=request.company.pk)  # type: ignore[attr-defined]
    if not company.logo:
        raise Http404
    try:
        with company.logo.open("rb") as fh:
            content = fh.read()
    except OSError:
        raise Http404 from None
    kind = mimetypes.guess_type(company.logo.name or "")[0] or "application/octet-stream"
    return HttpResponse(content, content_type=kind, headers={"Cache-Control": "private"})
