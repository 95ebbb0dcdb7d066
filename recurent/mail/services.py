"""Writes of the mail app: templates, SMTP settings, the outbox, reminders."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy

from recurent.clients.portal_links import portal_url
from recurent.common import bulk, clock, hosts
from recurent.common.errors import field_error
from recurent.engine.cycles import BUCHAREST

from . import crypto, templating
from .defaults import DEFAULT_TEMPLATES
from .models import (
    EmailTemplate,
    Language,
    OutboxKind,
    OutboxMessage,
    OutboxState,
    ReminderRule,
    Security,
    SmtpSettings,
    TemplateKind,
)
from .selectors import is_outstanding

if TYPE_CHECKING:
    from recurent.clients.models import Client
    from recurent.companies.models import Company
    from recurent.invoices.models import Invoice

# Reminders whose day was missed (worker down) are still sent this many days late, no later:
# enabling a "30 days after" rule must not mail every old unpaid invoice at once.
REMINDER_CATCH_UP_DAYS = getattr(settings, "RECURENT_MAIL_REMINDER_CATCH_UP_DAYS", 3)


# ---- the outbox, inside the issuing transaction ---------------------------------------


def outbox_after_issue(invoices: list[Invoice]) -> None:
    """AFTER_ISSUE hook: queue one message per invoice whose contract emails automatically.

    Runs inside the billing engine's transaction, so the message commits or rolls back
    with its invoice. Two queries per batch whatever its size: which of the batch's
    contracts email automatically (by id: the invoices do not carry their contract
    objects), and one INSERT when any does.
    """
    from recurent.contracts.models import Contract

    contract_ids = {inv.contract_id for inv in invoices if inv.contract_id is not None}
    if not contract_ids:
        return
    auto = dict(
        Contract.objects.filter(pk__in=contract_ids, auto_email=True).values_list(
            "pk", "email_template_code"
        )
    )
    rows = [
        {
            "company_id": inv.company_id,
            "invoice_id": inv.pk,
            "kind": OutboxKind.INVOICE.value,
            "template_code": auto[inv.contract_id],
            "queued_at": inv.issued_at,
            "not_before": inv.issued_at,
        }
        for inv in invoices
        if inv.contract_id in auto
    ]
    if rows:
        _insert_outbox(rows)


def _insert_outbox(rows: list[dict[str, Any]]) -> None:
    """One INSERT for the batch, the other columns at their model defaults (``bulk_create``
    compiled every value of every row through the ORM: 12 % of a billing block when a fifth
    of the contracts email, docs/benchmarks/billing.md)."""
    bulk.insert_dicts(OutboxMessage, rows)


@transaction.atomic
def outbox_resend(
    *, invoice: Invoice, as_of: datetime | None = None, template_code: str = ""
) -> OutboxMessage:
    """Queue the invoice email again, by hand (a new message with its own Message-ID)."""
    if invoice.kind != "invoice" and invoice.kind != "credit_note":
        raise field_error(
            "invoice",
            gettext_lazy("not a document that can be emailed"),
            "not_emailable",
        )
    now = as_of or clock.now()
    code = template_code or (invoice.contract.email_template_code if invoice.contract else "")
    return OutboxMessage.objects.create(
        company_id=invoice.company_id,
        invoice=invoice,
        kind=OutboxKind.INVOICE,
        template_code=code,
        manual=True,
        queued_at=now,
        not_before=now,
    )


# ---- notices: messages written by other apps ------------------------------------------


def notice_queue(
    *,
    company: Company,
    to: list[str],
    subject: str,
    body_text: str,
    body_html: str = "",
    as_of: datetime,
    proforma: Any = None,
) -> OutboxMessage:
    """Queue a message whose text the caller wrote (e.g. the portal's confirmations).

    Written in the caller's transaction, not after it: a change that rolls back takes its
    notice with it, and one that commits has its notice queued (no window between the two).
    The sender delivers it like an invoice email — the company's SMTP server, claimed before
    DATA, retried with backoff, a stable Message-ID — without attachments or a template.
    ``body_html`` is sent as given: the caller escapes what it puts in it. ``proforma``: the
    proforma (an ``InvoiceDraft``) the notice is about; its stored PDF is attached when sent.
    """
    return _notice_create(
        company=company, to=to, subject=subject, body_text=body_text, body_html=body_html,
        as_of=as_of, manual=False, proforma=proforma,
    )  # fmt: skip


def _notice_create(
    *,
    company: Company,
    to: list[str],
    subject: str,
    body_text: str,
    body_html: str,
    as_of: datetime,
    manual: bool,
    proforma: Any = None,
) -> OutboxMessage:
    errors: dict[str, list[Any]] = {}
    recipients = list(dict.fromkeys(a.strip() for a in to if a and a.strip()))
    if not recipients:
        errors["to"] = [
            ValidationError(gettext_lazy("at least one address is needed"), code="required")
        ]
    for addr in recipients:
        try:
            validate_email(addr)
        except ValidationError:
            errors.setdefault("to", []).append(
                ValidationError(
                    gettext_lazy("%(addr)s is not an email address"),
                    code="not_email_address",
                    params={"addr": repr(addr)},
                )
            )
    one_line = " ".join((subject or "").split())
    if not one_line:
        errors["subject"] = [ValidationError(gettext_lazy("a subject is needed"), code="required")]
    elif len(one_line) > 300:
        errors["subject"] = [
            ValidationError(gettext_lazy("at most 300 characters"), code="max_length")
        ]
    if not (body_text or "").strip():
        errors["body_text"] = [
            ValidationError(gettext_lazy("a text body is needed"), code="required")
        ]
    if errors:
        raise ValidationError(errors)
    return OutboxMessage.objects.create(
        company=company,
        invoice=None,
        kind=OutboxKind.NOTICE,
        subject=one_line,
        body_text=body_text,
        body_html=body_html or "",
        recipients=recipients,
        manual=manual,
        proforma=proforma,
        queued_at=as_of,
        not_before=as_of,
    )


def notice_resend(*, message: OutboxMessage, as_of: datetime) -> OutboxMessage:
    """Queue a notice again, by hand: a new row (own Message-ID) with the same text."""
    if message.kind != OutboxKind.NOTICE:
        raise field_error("message", gettext_lazy("not a notice"), "not_notice")
    return _notice_create(
        company=message.company, to=list(message.recipients or []), subject=message.subject,
        body_text=message.body_text, body_html=message.body_html, as_of=as_of, manual=True,
        proforma=message.proforma,
    )  # fmt: skip


# ---- templates ------------------------------------------------------------------------


def email_template_create(*, company: Company, **fields: Any) -> EmailTemplate:
    t = EmailTemplate(company=company, **fields)
    with transaction.atomic():  # a refused template also leaves the old default in place
        if t.is_default:
            EmailTemplate.objects.filter(
                company=company, kind=t.kind, language=t.language, is_default=True
            ).update(is_default=False)
        t.full_clean()  # the template checks run here, with field names in the error
        t.save()
    return t


def email_template_update(*, template: EmailTemplate, **fields: Any) -> EmailTemplate:
    for k, v in fields.items():
        setattr(template, k, v)
    with transaction.atomic():
        if template.is_default:
            EmailTemplate.objects.filter(
                company_id=template.company_id,
                kind=template.kind,
                language=template.language,
                is_default=True,
            ).exclude(pk=template.pk).update(is_default=False)
        template.full_clean()
        template.save()
    return template


def mail_templates_ensure_defaults(*, company: Company) -> list[EmailTemplate]:
    """Create the shipped default templates the company lacks (idempotent, race-safe)."""
    out = []
    for spec in DEFAULT_TEMPLATES:
        have_default = EmailTemplate.objects.filter(
            company=company, kind=spec["kind"], language=spec["language"], is_default=True
        ).first()
        if have_default:
            out.append(have_default)
            continue
        try:
            with transaction.atomic():
                t, _ = EmailTemplate.objects.get_or_create(
                    company=company,
                    code=spec["code"],
                    defaults={**spec, "is_default": True},
                )
        except IntegrityError:  # another process created it just now
            t = EmailTemplate.objects.get(company=company, code=spec["code"])
        out.append(t)
    return out


def client_language(client: Client | dict[str, Any]) -> str:
    """The language a client is written to: its own setting if the model ever gets one,
    otherwise Romanian for Romanian clients and English for foreign ones."""
    get = client.get if isinstance(client, dict) else lambda k, d=None: getattr(client, k, d)
    lang = get("language", None)
    if lang in Language.values:
        return str(lang)
    return Language.RO if (get("country", "RO") or "RO") == "RO" else Language.EN


def template_for(
    *, company: Company, code: str, kind: str, language: str
) -> tuple[EmailTemplate, str]:
    """The template to use and a note when the named one is missing (default used instead)."""
    note = ""
    if code:
        t = EmailTemplate.objects.filter(company=company, code=code).first()
        if t is not None:
            return t, ""
        note = f"template {code!r} does not exist; the default template was used"
    for lang in (language, Language.RO):
        t = EmailTemplate.objects.filter(
            company=company, kind=kind, language=lang, is_default=True
        ).first()
        if t is not None:
            return t, note
    mail_templates_ensure_defaults(company=company)
    t = EmailTemplate.objects.get(company=company, kind=kind, language=language, is_default=True)
    return t, note


def template_preview(
    *, template: EmailTemplate, invoice: Invoice, as_of: datetime | None = None
) -> templating.Rendered:
    """The template rendered against a real invoice (reminder fields as on its due date)."""
    today = (as_of or clock.now()).astimezone(BUCHAREST).date()
    ctx = templating.invoice_context(
        invoice,
        lang=template.language,
        portal_url=portal_url(invoice.client_id),
        reminder_offset=(today - invoice.due_date).days
        if template.kind == TemplateKind.REMINDER
        else None,
        today=today,
    )
    return templating.render(
        subject=template.subject,
        body_html=template.body_html,
        body_text=template.body_text,
        context=ctx,
    )


# ---- SMTP settings --------------------------------------------------------------------


def smtp_settings_save(
    *,
    company: Company,
    host: str,
    from_email: str,
    port: int | None = None,
    security: str = Security.STARTTLS,
    username: str = "",
    password: str | None = None,
    **fields: Any,
) -> SmtpSettings:
    """Create or update the company's SMTP settings. ``password=None`` keeps the stored one."""
    s = SmtpSettings.objects.filter(company=company).first() or SmtpSettings(company=company)
    s.host, s.from_email, s.security, s.username = host, from_email, security, username
    s.port = port or {Security.SSL: 465, Security.NONE: 25}.get(security, 587)  # type: ignore[call-overload]
    for k, v in fields.items():
        setattr(s, k, v)
    if password is not None:
        s.password_encrypted = crypto.encrypt(password)
    s.full_clean()
    blocked = hosts.non_public_address(s.host)
    if blocked:
        raise ValidationError(
            {
                "host": ValidationError(
                    gettext_lazy(
                        "refused: %(address)s is not a public internet address; give your "
                        "email provider's server"
                    ),
                    code="host_not_public",
                    params={"address": blocked},
                )
            }
        )
    s.save()
    return s


def smtp_password(s: SmtpSettings) -> str:
    return crypto.decrypt(s.password_encrypted)


# ---- reminders ------------------------------------------------------------------------


def reminder_rule_create(
    *, company: Company, offset_days: int, template_code: str = "", active: bool = True
) -> ReminderRule:
    if not -60 <= offset_days <= 365:
        raise field_error(
            "offset_days",
            gettext_lazy("between 60 days before and 365 days after"),
            "out_of_range",
        )
    if (
        template_code
        and not EmailTemplate.objects.filter(
            company=company, code=template_code, kind=TemplateKind.REMINDER
        ).exists()
    ):
        raise field_error(
            "template_code",
            gettext_lazy("no reminder template %(template_code)s"),
            "no_reminder_template",
            template_code=repr(template_code),
        )
    r = ReminderRule(
        company=company, offset_days=offset_days, template_code=template_code, active=active
    )
    r.full_clean()
    r.save()
    return r


def reminders_queue(*, limit: int, as_of: datetime | None = None) -> int:
    """Queue the reminders due today (or missed up to REMINDER_CATCH_UP_DAYS ago).

    Once per (invoice, rule) is the unique constraint ``mail_reminder_once``; an invoice
    paid or cancelled by then is skipped here, and checked again just before sending.
    Only invoices of contracts that email automatically get reminders (the client agreed
    to receive invoices by email there).
    """
    from recurent.invoices.models import Invoice

    now = as_of or clock.now()
    today = now.astimezone(BUCHAREST).date()
    queued = 0
    for rule in ReminderRule.objects.filter(active=True).order_by("company_id", "offset_days"):
        if queued >= limit:
            break
        latest_due = today - timedelta(days=rule.offset_days)
        already = OutboxMessage.objects.filter(invoice_id=OuterRef("pk"), reminder_rule=rule)
        candidates = (
            Invoice.objects.filter(
                company_id=rule.company_id,
                kind="invoice",
                contract__auto_email=True,
                due_date__lte=latest_due,
                due_date__gte=latest_due - timedelta(days=REMINDER_CATCH_UP_DAYS),
            )
            .exclude(status="cancelled")
            .filter(~Exists(already))
            .select_related("contract")
            .order_by("due_date", "pk")[: limit - queued]
        )
        rows = [
            OutboxMessage(
                company_id=inv.company_id,
                invoice_id=inv.pk,
                kind=OutboxKind.REMINDER,
                reminder_rule=rule,
                template_code=rule.template_code,
                queued_at=now,
                not_before=now,
            )
            for inv in candidates
            if is_outstanding(inv)
        ]
        # ignore_conflicts: a second worker queuing the same reminder meets the constraint.
        created = OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True)
        queued += len(created)
    return queued


def outbox_cancel(*, message: OutboxMessage, reason: str) -> bool:
    """Withdraw a queued message (e.g. a reminder for an invoice paid meanwhile)."""
    n = OutboxMessage.objects.filter(pk=message.pk, state=OutboxState.PENDING).update(
        state=OutboxState.CANCELLED, last_response=reason[:2000]
    )
    return n == 1
