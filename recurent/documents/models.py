"""Rendered documents of an invoice (PDF, e-Factura XML), stored once so that a download
never re-renders differently."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class DocumentKind(models.TextChoices):
    PDF = "pdf", "PDF"
    XML = "xml", "e-Factura XML"


class InvoiceDocument(models.Model):
    # No index of its own: document_once_per_kind starts with it (one index less to write
    # with every document the run stores).
    invoice = models.ForeignKey(
        "invoices.Invoice", on_delete=models.PROTECT, related_name="documents", db_index=False
    )
    kind = models.CharField(max_length=3, choices=DocumentKind.choices)
    filename = models.CharField(max_length=120)
    content_type = models.CharField(max_length=60)
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    # Whether a stored XML may be sent: an XML that fails the application's own e-Factura
    # check is kept (so the problem is visible, with ANAF's rule ids) but is never handed out.
    valid = models.BooleanField(default=True)
    findings = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invoice", "kind"], name="document_once_per_kind")
        ]


class DocumentSettings(models.Model):
    """How a company's PDFs look, changed from the settings screen, not in code.

    The layout itself is ``templates/invoice.typ``; a deployment can replace it by putting an
    ``invoice.typ`` in ``RECURENT_DOCUMENTS_TEMPLATE_DIR``.
    """

    company = models.OneToOneField(
        "companies.Company", on_delete=models.CASCADE, related_name="document_settings"
    )
    accent_color = models.CharField(
        _("accent colour"),
        max_length=7,
        default="#1F4E79",
        validators=[RegexValidator(r"^#[0-9A-Fa-f]{6}$", _("a colour like #1F4E79"))],
    )
    footer_text = models.CharField(_("footer text"), max_length=300, blank=True)
    bilingual = models.BooleanField(_("Romanian and English labels"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"document settings of {self.company_id}"


class Annex(models.Model):
    """A file that travels with invoices (BG-24): on a contract (every invoice of it) or
    on one invoice. Stored in the database so the XML sent is reproducible byte for byte."""

    company = models.ForeignKey("companies.Company", on_delete=models.CASCADE, related_name="+")
    contract = models.ForeignKey(
        "contracts.Contract",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="annexes",
    )
    invoice = models.ForeignKey(
        "invoices.Invoice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="annexes",
    )
    filename = models.CharField(_("file name"), max_length=200)
    mime = models.CharField(max_length=80)
    size = models.PositiveIntegerField()
    description = models.CharField(_("description"), max_length=100, blank=True)
    content = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(contract__isnull=True) & models.Q(invoice__isnull=False))
                | (models.Q(contract__isnull=False) & models.Q(invoice__isnull=True)),
                name="annex_of_contract_or_invoice",
            )
        ]

    def __str__(self) -> str:
        return self.filename


class RenderFailure(models.Model):
    """An invoice whose documents failed to render: tried again later, less and less often
    (``services.render_pending`` skips it until ``next_attempt_at``), with the reason shown on
    the invoice page and the dashboard. Deleted when its documents render."""

    invoice = models.OneToOneField(
        "invoices.Invoice", on_delete=models.CASCADE, related_name="render_failure"
    )
    company = models.ForeignKey("companies.Company", on_delete=models.CASCADE, related_name="+")
    attempts = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=1000)
    first_failed_at = models.DateTimeField()
    last_failed_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()

    class Meta:
        indexes = [
            # The dashboard's list of invoices without documents, per company, newest first.
            models.Index(fields=["company", "-last_failed_at"], name="render_failure_company_idx")
        ]


class CompanyRenderPause(models.Model):
    """A company whose renders keep failing (e.g. a logo typst cannot read breaks every PDF)
    steps aside until ``paused_until``, so its thousands of invoices do not hold up the
    other companies' documents. ``consecutive`` counts failures since the last success;
    ``pauses`` makes each pause longer. Reset by the company's next successful render."""

    company = models.OneToOneField(
        "companies.Company", on_delete=models.CASCADE, related_name="render_pause"
    )
    consecutive = models.PositiveIntegerField(default=0)
    pauses = models.PositiveIntegerField(default=0)
    paused_until = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=1000, blank=True)
