"""The guided set-up: what a new installation needs before its first invoice, step by step.

An administrator without a company (the first login after ``recurent createsuperuser``) lands here
instead of "no company"; a company that still misses a step sees it on the dashboard. Each step
saves through the same service as its settings page (companies, mail); nothing here decides a rule.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from recurent.companies.access import SESSION_KEY, current_membership, has_role
from recurent.companies.models import Company, InvoiceSeries, Role
from recurent.companies.services import company_found, company_update, series_create
from recurent.efactura.models import SpvConnection
from recurent.mail import sender
from recurent.mail.direct import NotConnected, send_test_message
from recurent.mail.models import SmtpSettings
from recurent.mail.services import smtp_settings_save
from recurent.web.forms_setup import SetupBankForm, SetupCompanyForm, SetupSeriesForm
from recurent.web.mail.forms import SmtpSettingsForm
from recurent.web.templatetags.web import safe_reverse
from recurent.web.views.common import apply_errors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    slug: str
    title: Promise
    why: Promise
    required: bool  # needed before the first invoice can be issued


STEPS = (
    Step("company", gettext_lazy("Your company"), gettext_lazy(
        "The seller printed on every invoice. Type the CUI: ANAF's registry fills the rest."), True),
    Step("bank", gettext_lazy("Bank account and logo"), gettext_lazy(
        "The IBAN your clients pay into, printed on the invoice; the logo at its top."), False),
    Step("series", gettext_lazy("Invoice series"), gettext_lazy(
        "Invoices are numbered without gaps in a series; the first number is yours to choose."),
        True),
    Step("email", gettext_lazy("Sending email"), gettext_lazy(
        "Your email provider's SMTP server: invoices and reminders leave from your address. "
        "Until it is set, nothing is emailed to clients."), False),
    Step("efactura", gettext_lazy("e-Factura (ANAF SPV)"), gettext_lazy(
        "Connect to ANAF's SPV to upload every invoice automatically. You can do it later."),
        False),
)  # fmt: skip
BY_SLUG = {s.slug: s for s in STEPS}


def steps_done(company: Company | None) -> dict[str, bool]:
    """Which steps a company has completed, read in one query from what the settings pages save
    (the dashboard asks on every load)."""
    if company is None:
        return {s.slug: False for s in STEPS}
    row = (
        Company.objects.filter(pk=company.pk)
        .annotate(
            has_series=Exists(
                InvoiceSeries.objects.filter(company=OuterRef("pk"), is_credit=False)
            ),
            has_smtp=Exists(SmtpSettings.objects.filter(company=OuterRef("pk"))),
            has_spv=Exists(
                SpvConnection.objects.filter(company=OuterRef("pk")).exclude(client_id="")
            ),
        )
        .values("cui", "street", "iban", "has_series", "has_smtp", "has_spv")
        .get()
    )
    return {
        "company": bool(row["cui"] and row["street"]),
        "bank": bool(row["iban"]),
        "series": row["has_series"],
        "email": row["has_smtp"],
        "efactura": row["has_spv"],
    }


def missing_steps(company: Company) -> list[Step]:
    """The steps still to do, for the dashboard's reminder."""
    done = steps_done(company)
    # e-Factura has its own block on the dashboard (rejections, deadlines): not repeated here.
    return [s for s in STEPS if not done[s.slug] and s.slug != "efactura"]


def _company(request: HttpRequest) -> Company | None:
    m = current_membership(request)
    return m.company if m else None


def _may_set_up(request: HttpRequest, company: Company | None) -> bool:
    if company is None:  # founding a company: only whoever runs the installation
        return bool(request.user.is_superuser)  # type: ignore[union-attr]
    return has_role(request, Role.ADMIN)


@login_required
def setup(request: HttpRequest, step: str | None = None) -> HttpResponse:
    company = _company(request)
    if not _may_set_up(request, company):
        return redirect("web:no-company" if company is None else "web:dashboard")
    done = steps_done(company)
    if step is None:
        first = next((s.slug for s in STEPS if not done[s.slug]), None)
        return redirect("web:setup-step", step=first) if first else redirect("web:setup-done")
    current = BY_SLUG.get(step)
    if current is None:
        raise Http404
    if company is None and step != "company":
        return redirect("web:setup-step", step="company")
    handler = HANDLERS[step]
    result = handler(request, company)
    if isinstance(result, HttpResponse):
        return result
    index = [s.slug for s in STEPS].index(step)
    ctx = {
        "step": current,
        "number": index + 1,
        "total": len(STEPS),
        "steps": [(s, done[s.slug], s.slug == step) for s in STEPS],
        "next_url": _next_url(step),
        **result,
    }
    status = 400 if request.method == "POST" and "form" in result and result["form"].errors else 200
    return render(request, "web/setup/step.html", ctx, status=status)


def _next_url(step: str) -> str:
    slugs = [s.slug for s in STEPS]
    i = slugs.index(step)
    if i + 1 < len(slugs):
        return reverse("web:setup-step", kwargs={"step": slugs[i + 1]})
    return reverse("web:setup-done")


def _saved(request: HttpRequest, step: str, text: str) -> HttpResponse:
    messages.success(request, text)
    return redirect(_next_url(step))


def _step_company(request: HttpRequest, company: Company | None) -> dict[str, Any] | HttpResponse:
    form = SetupCompanyForm(request.POST or None, instance=company)
    if request.method == "POST" and form.is_valid():
        try:
            if company is None:
                company = company_found(user=request.user, **form.cleaned_data)  # type: ignore[arg-type]
                request.session[SESSION_KEY] = company.pk
            else:
                company_update(company=company, **form.cleaned_data)
            return _saved(request, "company", _("Company details saved."))
        except ValidationError as e:
            apply_errors(form, e)
    return {
        "form": form,
        "registry_url": safe_reverse("efactura:registry-lookup"),
        "registry_texts": _registry_texts(),
    }


def _registry_texts() -> dict[str, str]:
    return {
        "asking": _("Asking ANAF's registry…"),
        "filled": _("Filled from ANAF's registry: check the fields and save."),
        "inactive": _("ANAF lists this taxpayer as inactive."),
        "not_found": _("ANAF's registry does not know this CUI."),
        "unavailable": _("ANAF's registry did not answer; fill the fields by hand."),
    }


def _step_bank(request: HttpRequest, company: Company | None) -> dict[str, Any] | HttpResponse:
    assert company is not None
    form = SetupBankForm(request.POST or None, request.FILES or None, instance=company)
    if request.method == "POST" and form.is_valid():
        try:
            company_update(company=Company.objects.get(pk=company.pk), **form.cleaned_data)
            return _saved(request, "bank", _("Bank account saved."))
        except ValidationError as e:
            apply_errors(form, e)
    return {"form": form, "multipart": True}


def _step_series(request: HttpRequest, company: Company | None) -> dict[str, Any] | HttpResponse:
    assert company is not None
    existing = list(InvoiceSeries.objects.filter(company=company).order_by("code"))
    form = SetupSeriesForm(request.POST or None, initial={"code": "FCT", "next_number": 1})
    if request.method == "POST" and form.is_valid():
        try:
            s = series_create(company=company, is_default=True, **form.cleaned_data)
            return _saved(request, "series", _("Series %(code)s added.") % {"code": s.code})
        except ValidationError as e:
            apply_errors(form, e)
    return {"form": form, "existing": existing}


def _step_email(request: HttpRequest, company: Company | None) -> dict[str, Any] | HttpResponse:
    assert company is not None
    current = SmtpSettings.objects.filter(company=company).first()
    if request.method == "POST" and request.POST.get("action") == "test":
        _send_test(request, company, current)
        return redirect("web:setup-step", step="email")
    initial = None if current else {"from_email": company.email}
    form = SmtpSettingsForm(request.POST or None, instance=current, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            smtp_settings_save(company=company, **form.service_kwargs())
            messages.success(request, _("Email settings saved."))
            # Stay on the step: the next thing to do is the test message.
            return redirect("web:setup-step", step="email")
        except ValidationError as e:
            apply_errors(form, e)
    return {
        "form": form,
        "configured": current is not None,
        "test_to": request.user.email,  # type: ignore[union-attr]
        "test_answer": request.session.pop("setup_mail_test", None),
    }


def _send_test(request: HttpRequest, company: Company, cfg: SmtpSettings | None) -> None:
    to = request.user.email  # type: ignore[union-attr]
    if cfg is None:
        messages.error(request, _("Save the settings first."))
        return
    if not to:
        messages.error(request, _("Your user has no email address to send the test message to."))
        return
    try:
        answer = send_test_message(cfg=cfg, to=to, company_name=company.legal_name)
    except NotConnected as e:
        log.info("SMTP test for company %s failed: %s", company.pk, e)
        text = _(
            "The message could not be sent. Check the server, the port, the security, the user "
            "and the password, and that the server accepts connections from this installation."
        )
        request.session["setup_mail_test"] = {"ok": False, "text": text, "to": to}
    except (sender.Temporary, sender.Permanent) as e:
        request.session["setup_mail_test"] = {"ok": False, "text": str(e), "to": to}
    else:
        request.session["setup_mail_test"] = {"ok": True, "text": answer, "to": to}


def _step_efactura(request: HttpRequest, company: Company | None) -> dict[str, Any]:
    return {"efactura_url": safe_reverse("efactura:settings")}


HANDLERS = {
    "company": _step_company,
    "bank": _step_bank,
    "series": _step_series,
    "email": _step_email,
    "efactura": _step_efactura,
}


@login_required
def setup_done(request: HttpRequest) -> HttpResponse:
    company = _company(request)
    if company is None:
        return redirect("web:setup")
    done = steps_done(company)
    return render(
        request,
        "web/setup/done.html",
        {
            "steps": [(s, done[s.slug], False) for s in STEPS],
            "missing_required": [s for s in STEPS if s.required and not done[s.slug]],
        },
    )
