"""Email delivery: per-company templates and SMTP settings, the outbox, reminder rules.

The outbox row is the unit of delivery. It is written in the same transaction as the
invoice (``services.outbox_after_issue``), so an invoice and its message exist together
or not at all; the sender (``sender.send_pending``) moves it through the states below.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from recurent.common.models import TimeStamped


class TemplateKind(models.TextChoices):
    INVOICE = "invoice", _("invoice")
    REMINDER = "reminder", _("payment reminder")


class Language(models.TextChoices):
    RO = "ro", "Română"
    EN = "en", "English"


class EmailTemplate(TimeStamped):
    """A user-written template, rendered in a Jinja2 sandbox over documented fields only.

    Validated whenever it is saved (``templating.validate``): a template that would fail,
    or that tries to reach anything but the documented fields, is refused then, not when
    an invoice goes out.
    """

    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="email_templates"
    )
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(
        _("kind"), max_length=10, choices=TemplateKind.choices, default=TemplateKind.INVOICE
    )
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.RO
    )
    subject = models.CharField(_("subject"), max_length=300)
    body_html = models.TextField(_("HTML body"))
    body_text = models.TextField(_("plain-text body"))
    # The one used when a contract names no template (per kind and language).
    is_default = models.BooleanField(_("default"), default=False)

    class Meta:
        constraints = [
            # Contract.email_template_code refers to a template by this pair.
            models.UniqueConstraint(fields=["company", "code"], name="mail_template_code_once"),
            models.UniqueConstraint(
                fields=["company", "kind", "language"],
                condition=models.Q(is_default=True),
                name="mail_template_one_default",
            ),
        ]
        ordering = ["kind", "language", "code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.kind}, {self.language})"

    def clean(self) -> None:
        from .templating import validate_template

        validate_template(self)

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        # Checked here too (not only in services/forms): no path may store a template that
        # could fail or escape the sandbox at sending time.
        from .templating import validate_template

        validate_template(self)
        super().save(*args, **kwargs)


class Security(models.TextChoices):
    NONE = "none", _("none (plain SMTP)")
    STARTTLS = "starttls", "STARTTLS"
    SSL = "ssl", _("SSL/TLS (implicit)")


class SmtpSettings(TimeStamped):
    """How a company's messages leave: its own SMTP server and sender address."""

    company = models.OneToOneField(
        "companies.Company", on_delete=models.CASCADE, related_name="smtp_settings"
    )
    host = models.CharField(_("SMTP host"), max_length=200)
    port = models.PositiveIntegerField(_("port"), default=587)
    security = models.CharField(
        _("security"), max_length=8, choices=Security.choices, default=Security.STARTTLS
    )
    username = models.CharField(_("user"), max_length=200, blank=True)
    # Fernet token (crypto.encrypt); never the password itself, never logged.
    password_encrypted = models.TextField(blank=True, editable=False)
    from_email = models.EmailField(_("from address"))
    from_name = models.CharField(_("from name"), max_length=200, blank=True)
    reply_to = models.EmailField(_("reply-to address"), blank=True)
    bcc_company = models.BooleanField(_("send a blind copy to the company"), default=False)
    bcc_address = models.EmailField(
        _("blind-copy address"), blank=True, help_text=_("Empty: the company's email address.")
    )
    timeout = models.PositiveIntegerField(_("timeout (seconds)"), default=30)

    class Meta:
        verbose_name = _("SMTP settings")
        verbose_name_plural = _("SMTP settings")

    def __str__(self) -> str:  # no secret in any representation
        return f"{self.security}://{self.host}:{self.port}"

    def __repr__(self) -> str:
        return f"<SmtpSettings {self}>"


class OutboxState(models.TextChoices):
    PENDING = "pending", _("queued")
    # Committed before DATA; a row left here by a killed sender is reconciled on restart.
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")
    # The sender stopped during delivery: the message may or may not have arrived.
    UNKNOWN = "unknown", _("unknown (check and resend)")
    CANCELLED = "cancelled", _("not sent (no longer needed)")


class OutboxKind(models.TextChoices):
    INVOICE = "invoice", _("invoice")
    REMINDER = "reminder", _("payment reminder")
    # A message written by another app (services.notice_queue): subject, bodies and recipients
    # are stored on the row; no invoice, no template; a proforma's PDF only (notice_files).
    NOTICE = "notice", _("notice")


class OutboxMessage(models.Model):
    # No index of its own: mail_outbox_company_state_idx starts with it.
    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="outbox", db_index=False
    )
    # Empty only for notices (the constraint mail_invoice_unless_notice).
    invoice = models.ForeignKey(
        "invoices.Invoice",
        on_delete=models.PROTECT,
        related_name="outbox_messages",
        null=True,
        blank=True,
    )
    kind = models.CharField(max_length=10, choices=OutboxKind.choices, default=OutboxKind.INVOICE)
    # A proforma's notice (invoices.proforma_period): the proforma's stored PDF goes with it
    # (notice_files). A proforma deleted meanwhile leaves the notice, without the PDF.
    proforma = models.ForeignKey(
        "invoices.InvoiceDraft",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="outbox_messages",
        db_index=False,  # indexed where set only: mail_outbox_proforma
    )
    reminder_rule = models.ForeignKey(
        "mail.ReminderRule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
        db_index=False,  # indexed where set only: mail_outbox_reminder_rule
    )
    # Empty: the contract's template, else the company default for the client's language.
    template_code = models.CharField(max_length=40, blank=True)
    manual = models.BooleanField(default=False)  # queued by a person (resend)
    state = models.CharField(
        max_length=10, choices=OutboxState.choices, default=OutboxState.PENDING
    )
    queued_at = models.DateTimeField()
    not_before = models.DateTimeField()  # next attempt no earlier than this
    attempts = models.PositiveSmallIntegerField(default=0)
    sending_since = models.DateTimeField(null=True, blank=True)
    sending_owner = models.CharField(max_length=120, blank=True)  # host:pid of the sender
    sent_at = models.DateTimeField(null=True, blank=True)
    # Fixed at the first attempt and reused by every later one, so a retried message is
    # recognisably the same message to the receiving side.
    message_id = models.CharField(max_length=250, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    recipients = models.JSONField(default=list, blank=True)
    # Notices only: the text as queued (invoice emails are rendered from their template when sent).
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    attachments = models.JSONField(default=list, blank=True)  # filenames sent
    last_response = models.TextField(blank=True)

    class Meta:
        constraints = [
            # Each reminder goes at most once: services.reminders_queue relies on this.
            models.UniqueConstraint(
                fields=["invoice", "reminder_rule"],
                condition=models.Q(reminder_rule__isnull=False),
                name="mail_reminder_once",
            ),
            # The sender builds invoice emails and reminders from their invoice.
            models.CheckConstraint(
                condition=models.Q(kind="notice") | models.Q(invoice__isnull=False),
                name="mail_invoice_unless_notice",
            ),
        ]
        indexes = [
            # The sender's claim: due pending rows, oldest first.
            models.Index(fields=["state", "not_before"], name="mail_outbox_due_idx"),
            models.Index(fields=["company", "state"], name="mail_outbox_company_state_idx"),
            # Deleting a rule clears it from its reminders (SET_NULL); invoice emails have none.
            models.Index(
                fields=["reminder_rule"],
                condition=models.Q(reminder_rule__isnull=False),
                name="mail_outbox_reminder_rule",
            ),
            models.Index(
                fields=["proforma"],
                condition=models.Q(proforma__isnull=False),
                name="mail_outbox_proforma",
            ),
        ]
        ordering = ["-queued_at", "-pk"]

    def __str__(self) -> str:
        return f"outbox #{self.pk} {self.kind} {self.state}"


class ReminderRule(TimeStamped):
    """Send a payment reminder ``offset_days`` after the due date (negative: before)."""

    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="reminder_rules"
    )
    offset_days = models.IntegerField(_("days after the due date (negative: before)"))
    template_code = models.CharField(
        _("template"),
        max_length=40,
        blank=True,
        help_text=_("Empty: the default reminder template for the client's language."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company", "offset_days"], name="mail_reminder_rule_once"
            )
        ]
        ordering = ["offset_days"]

    def __str__(self) -> str:
        return f"reminder {self.offset_days:+d} days"
