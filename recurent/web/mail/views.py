"""Mail screens: templates (with preview), SMTP settings (with a test message), reminder
rules and the outbox. Thin: access check, form, one service call."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from recurent.common import clock
from recurent.companies.access import company_required, has_role, scoped
from recurent.companies.models import Role
from recurent.invoices.models import Invoice
from recurent.mail import sender, services, templating
from recurent.mail.direct import NotConnected, send_test_message
from recurent.mail.models import (
    EmailTemplate,
    OutboxKind,
    OutboxMessage,
    OutboxState,
    ReminderRule,
    SmtpSettings,
    TemplateKind,
)
from recurent.mail.selectors import ATTENTION
from recurent.web.mail.forms import (
    EmailTemplateForm,
    ReminderRuleForm,
    SmtpSettingsForm,
    apply_errors,
)

log = logging.getLogger("recurent.mail")

PAGE_SIZE = 25
PREVIEW_INVOICES = 100  # how many recent invoices the preview offers to pick from

# What each documented placeholder holds (templating.FIELDS is the list the sandbox accepts).
PLACEHOLDER_HELP = {
    "client.name": gettext_lazy("client name"),
    "client.tax_id": gettext_lazy("client CUI/CIF or CNP"),
    "client.email": gettext_lazy("client's first email address"),
    "client.street": gettext_lazy("client street address"),
    "client.city": gettext_lazy("client city"),
    "client.country": gettext_lazy("client country code (RO)"),
    "invoice.full_number": gettext_lazy("series and number (REC-000123)"),
    "invoice.series": gettext_lazy("invoice series"),
    "invoice.number": gettext_lazy("invoice number without the series"),
    "invoice.issue_date": gettext_lazy("issue date"),
    "invoice.due_date": gettext_lazy("due date"),
    "invoice.total": gettext_lazy("total to pay, with the currency (1.210,00 RON)"),
    "invoice.amount": gettext_lazy("total to pay, without the currency"),
    "invoice.currency": gettext_lazy("currency"),
    "invoice.net_total": gettext_lazy("total without VAT"),
    "invoice.vat_total": gettext_lazy("VAT"),
    "invoice.period_start": gettext_lazy("first day of the billed period"),
    "invoice.period_end": gettext_lazy("last day of the billed period"),
    "invoice.period": gettext_lazy("the billed period (from – to)"),
    "company.name": gettext_lazy("your company's name"),
    "company.cui": gettext_lazy("your company's CUI/CIF"),
    "company.email": gettext_lazy("your company's email address"),
    "company.phone": gettext_lazy("your company's phone"),
    "company.iban": gettext_lazy("your company's IBAN"),
    "company.bank": gettext_lazy("your company's bank"),
    "company.street": gettext_lazy("your company's street address"),
    "company.city": gettext_lazy("your company's city"),
    "contract.number": gettext_lazy("contract number"),
    "contract.date": gettext_lazy("contract date"),
    "reminder.offset_days": gettext_lazy("reminders only: the rule's days after the due date"),
    "reminder.days_overdue": gettext_lazy("reminders only: days past the due date"),
    "reminder.days_until_due": gettext_lazy("reminders only: days left until the due date"),
    "portal_url": gettext_lazy("link to the client's portal"),
    "pay_url": gettext_lazy("link to pay the invoice online (empty when it cannot be)"),
}


def _placeholders() -> list[tuple[str, Any]]:
    return [(name, PLACEHOLDER_HELP.get(name, "")) for name in templating.fields_help()]


def _page(request: HttpRequest, qs: Any) -> Any:
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


# ---- templates --------------------------------------------------------------------------


@company_required(Role.VIEWER)
def template_list(request: HttpRequest) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    if request.role != Role.VIEWER and not EmailTemplate.objects.filter(company=company).exists():  # type: ignore[attr-defined]
        # Until now the defaults appeared when the first email went out: show them here.
        services.mail_templates_ensure_defaults(company=company)
    templates = scoped(EmailTemplate.objects, request).order_by("kind", "language", "code")
    return render(request, "mail/templates/list.html", {"templates": templates, "tab": "templates"})


def _preview(request: HttpRequest, template: EmailTemplate) -> dict[str, Any]:
    """The template rendered against the chosen invoice (the latest one by default)."""
    invoices = list(
        scoped(Invoice.objects, request)
        .only("pk", "full_number", "buyer_name", "issue_date")
        .order_by("-issued_at", "-pk")[:PREVIEW_INVOICES]
    )
    chosen = request.GET.get("invoice", "")
    invoice = None
    if chosen.isdigit():
        # Another company's invoice is not found (404), like any other object.
        invoice = get_object_or_404(
            scoped(Invoice.objects, request).select_related("series"), pk=int(chosen)
        )
    elif invoices:
        invoice = Invoice.objects.select_related("series").get(pk=invoices[0].pk)
    out: dict[str, Any] = {"invoices": invoices, "preview_invoice": invoice}
    if invoice is not None:
        try:
            out["rendered"] = services.template_preview(template=template, invoice=invoice)
        except templating.RenderError as e:
            out["preview_error"] = str(e)
    return out


def _template_form(request: HttpRequest, template: EmailTemplate | None) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    readonly = not has_role(request, Role.ACCOUNTANT)
    form = EmailTemplateForm(
        request.POST or None, instance=template, company=company, readonly=readonly
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = {k: form.cleaned_data[k] for k in form.Meta.fields}
            try:
                if template is None:
                    template = services.email_template_create(company=company, **data)
                    messages.success(
                        request, _("Template %(code)s added.") % {"code": template.code}
                    )
                else:
                    # A fresh copy: the form already wrote the refused values on its instance.
                    fresh = EmailTemplate.objects.get(pk=template.pk)
                    template = services.email_template_update(template=fresh, **data)
                    messages.success(
                        request, _("Template %(code)s saved.") % {"code": template.code}
                    )
                return redirect("mail:template-edit", pk=template.pk)
            except ValidationError as e:
                apply_errors(form, e)
        status = 400
    ctx: dict[str, Any] = {
        "form": form,
        "object": template,
        "readonly": readonly,
        "placeholders": _placeholders(),
        "filters": sorted(templating.FILTERS),
        "tab": "templates",
    }
    if template is not None and template.pk:
        # The preview shows the saved template, not the refused edit.
        ctx.update(_preview(request, EmailTemplate.objects.get(pk=template.pk)))
    return render(request, "mail/templates/form.html", ctx, status=status)


@company_required(Role.ACCOUNTANT)
def template_create(request: HttpRequest) -> HttpResponse:
    return _template_form(request, None)


@company_required(Role.VIEWER)
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    # Viewers read the template (fields disabled); saving needs an accountant (access.check).
    return _template_form(request, get_object_or_404(scoped(EmailTemplate.objects, request), pk=pk))


# ---- SMTP settings ------------------------------------------------------------------------


@company_required(Role.ADMIN)
def smtp_settings(request: HttpRequest) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    current = SmtpSettings.objects.filter(company=company).first()
    form = SmtpSettingsForm(request.POST or None, instance=current)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.smtp_settings_save(company=company, **form.service_kwargs())
                messages.success(request, _("Email settings saved."))
                return redirect("mail:settings")
            except ValidationError as e:
                apply_errors(form, e)
        status = 400
    ctx = {
        "form": form,
        "configured": current is not None,
        "test_to": request.user.email,  # type: ignore[union-attr]
        "test_answer": request.session.pop("mail_test_answer", None),
        "tab": "settings",
    }
    return render(request, "mail/settings.html", ctx, status=status)


TEST_FAILED = gettext_lazy(
    "The message could not be sent. Check the server, the port, the security, the user and the "
    "password, and that the server accepts connections from this installation."
)


@company_required(Role.ADMIN)
@require_POST
def smtp_test(request: HttpRequest) -> HttpResponse:
    """Send a test message to the current user through the saved settings."""
    company = request.company  # type: ignore[attr-defined]
    cfg = SmtpSettings.objects.filter(company=company).first()
    to = request.user.email  # type: ignore[union-attr]
    if cfg is None:
        messages.error(request, _("Save the settings first."))
    elif not to:
        messages.error(request, _("Your user has no email address to send the test message to."))
    else:
        try:
            answer = send_test_message(cfg=cfg, to=to, company_name=company.legal_name)
        except NotConnected as e:
            # One answer for every way of not getting through: a refused connection, a silent
            # port, a closed one and a refused login look the same, so the button cannot be used
            # to scan a network. The detail goes to the log for whoever runs the installation.
            log.info("SMTP test for company %s failed: %s", company.pk, e)
            request.session["mail_test_answer"] = {"ok": False, "text": str(TEST_FAILED), "to": to}
        except (sender.Temporary, sender.Permanent) as e:
            # The server we logged in to refused the message: its answer helps fix the settings.
            request.session["mail_test_answer"] = {"ok": False, "text": str(e), "to": to}
        else:
            request.session["mail_test_answer"] = {"ok": True, "text": answer, "to": to}
    return redirect("mail:settings")


# ---- reminder rules -----------------------------------------------------------------------


@company_required(Role.VIEWER)
def reminder_list(request: HttpRequest) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    form = ReminderRuleForm(request.POST or None, company=company)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            offset = form.cleaned_data["offset_days"]
            code = form.cleaned_data["template_code"] or ""
            try:
                _reminder_add(company=company, offset_days=offset, template_code=code)
                messages.success(request, _("Reminder added."))
                return redirect("mail:reminders")
            except ValidationError as e:
                apply_errors(form, e)
        status = 400
    rules = scoped(ReminderRule.objects, request).filter(active=True).order_by("offset_days")
    names = dict(
        scoped(EmailTemplate.objects, request).values_list("code", "name")
    )  # one query for every rule's template name
    rows = [(r, names.get(r.template_code, ""), abs(r.offset_days)) for r in rules]
    return render(
        request,
        "mail/reminders.html",
        {"rows": rows, "form": form, "tab": "reminders"},
        status=status,
    )


def _reminder_add(*, company: Any, offset_days: int, template_code: str) -> ReminderRule:
    # A removed rule is only deactivated (its reminders already sent stay linked to it, so
    # they are not sent a second time); adding the same offset again brings it back.
    old = ReminderRule.objects.filter(company=company, offset_days=offset_days).first()
    if old is not None and old.active:
        raise ValidationError({"offset_days": [_("There is already a reminder on this day.")]})
    if old is not None:
        if (
            template_code
            and not EmailTemplate.objects.filter(
                company=company, code=template_code, kind=TemplateKind.REMINDER
            ).exists()
        ):
            raise ValidationError(
                {"template_code": [_("no reminder template %(code)s") % {"code": template_code}]}
            )
        old.template_code = template_code
        old.active = True
        old.full_clean()
        old.save(update_fields=["template_code", "active", "updated_at"])
        return old
    return services.reminder_rule_create(
        company=company, offset_days=offset_days, template_code=template_code
    )


@company_required(Role.ACCOUNTANT)
@require_POST
def reminder_remove(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(scoped(ReminderRule.objects, request), pk=pk)
    rule.active = False
    rule.save(update_fields=["active", "updated_at"])
    messages.success(request, _("Reminder removed."))
    return redirect("mail:reminders")


# ---- the outbox ---------------------------------------------------------------------------

STATE_FILTERS = ["attention", *OutboxState.values]


@company_required(Role.VIEWER)
def outbox(request: HttpRequest) -> HttpResponse:
    base = scoped(OutboxMessage.objects, request)
    state = request.GET.get("state", "")
    qs = base
    if state == "attention":
        qs = qs.filter(state__in=ATTENTION)
    elif state in OutboxState.values:
        qs = qs.filter(state=state)
    else:
        state = ""
    qs = (
        qs.select_related("invoice", "reminder_rule")
        # The invoice's snapshots are large and not shown here.
        .defer("invoice__seller", "invoice__buyer", "invoice__vat_breakdown", "invoice__notes")
        .order_by("-queued_at", "-pk")
    )
    counts = dict(base.values_list("state").annotate(n=Count("pk")).order_by())
    chips: list[tuple[str, Any, int]] = [("", _("all"), sum(counts.values()))]
    chips.append(("attention", _("need attention"), sum(counts.get(s, 0) for s in ATTENTION)))
    chips += [(s, label, counts.get(s, 0)) for s, label in OutboxState.choices]
    return render(
        request,
        "mail/outbox.html",
        {
            "page": _page(request, qs),
            "state": state,
            "chips": chips,
            "attention": ATTENTION,
            "tab": "outbox",
        },
    )


@company_required(Role.ACCOUNTANT)
@require_POST
def outbox_resend(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(
        scoped(OutboxMessage.objects, request).select_related("invoice__contract", "company"),
        pk=pk,
    )
    if message.kind == OutboxKind.NOTICE:
        try:
            services.notice_resend(message=message, as_of=clock.now())
        except ValidationError as e:
            messages.error(request, "; ".join(e.messages))
        else:
            messages.success(request, _("Notice queued to be sent again."))
    elif message.kind != OutboxKind.INVOICE or message.invoice is None:
        messages.error(request, _("Only invoice emails can be resent from here."))
    else:
        try:
            services.outbox_resend(
                invoice=message.invoice, as_of=clock.now(), template_code=message.template_code
            )
        except ValidationError as e:
            messages.error(request, "; ".join(e.messages))
        else:
            messages.success(
                request,
                _("Invoice %(number)s queued to be emailed again.")
                % {"number": message.invoice.full_number},
            )
    nxt = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = reverse("mail:outbox")
    return redirect(nxt)
