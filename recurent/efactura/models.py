"""e-Factura: a company's SPV connection, each invoice's state at ANAF, supplier invoices,
and cached answers of ANAF's VAT-payer registry."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from recurent.common.models import TimeStamped

from . import crypto


class Environment(models.TextChoices):
    TEST = "test", _("test (ANAF's sandbox)")
    PROD = "prod", _("production")


class ConnectionStatus(models.TextChoices):
    NOT_CONNECTED = "not_connected", _("not connected")
    CONNECTED = "connected", _("connected")
    # The refresh token is gone, expired or revoked: only a person with the certificate can fix it.
    RECONNECT = "reconnect", _("reconnect needed")


class SpvConnection(TimeStamped):
    """One company's access to SPV. Secrets are stored encrypted (see crypto.py)."""

    company = models.OneToOneField(
        "companies.Company", on_delete=models.CASCADE, related_name="spv_connection"
    )
    environment = models.CharField(
        _("environment"), max_length=4, choices=Environment.choices, default=Environment.TEST
    )
    client_id = models.CharField(_("OAuth client id"), max_length=200, blank=True)
    client_secret_enc = models.TextField(blank=True, editable=False)
    status = models.CharField(
        max_length=14, choices=ConnectionStatus.choices, default=ConnectionStatus.NOT_CONNECTED
    )
    status_reason = models.TextField(blank=True)
    access_token_enc = models.TextField(blank=True, editable=False)
    refresh_token_enc = models.TextField(blank=True, editable=False)
    access_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_expires_at = models.DateTimeField(null=True, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    auto_upload = models.BooleanField(_("upload issued invoices automatically"), default=False)
    deadline_days = models.PositiveSmallIntegerField(
        _("warn when an invoice is not accepted after (days)"), default=3
    )
    notify_email = models.EmailField(_("email for e-Factura warnings"), blank=True)
    # ANAF down or rate limiting: no call for this company before this instant.
    backoff_until = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)
    incoming_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("SPV connection")

    def __str__(self) -> str:
        return f"SPV {self.environment} for company {self.company_id}"

    def __repr__(self) -> str:  # never show secrets
        return f"<SpvConnection company={self.company_id} {self.environment} {self.status}>"

    @property
    def client_secret(self) -> str:
        return crypto.decrypt(self.client_secret_enc)

    @client_secret.setter
    def client_secret(self, value: str) -> None:
        self.client_secret_enc = crypto.encrypt(value)

    @property
    def access_token(self) -> str:
        return crypto.decrypt(self.access_token_enc)

    @property
    def refresh_token(self) -> str:
        return crypto.decrypt(self.refresh_token_enc)


class EState(models.TextChoices):
    NOT_SENT = "not_sent", _("not sent")
    QUEUED = "queued", _("queued")
    # Intent recorded before the upload call: if the answer is lost, this state says
    # "reconcile through listaMesajeFactura before any retry".
    UPLOADING = "uploading", _("uploading")
    UPLOADED = "uploaded", _("uploaded, waiting for ANAF")
    ACCEPTED = "accepted", _("accepted")
    REJECTED = "rejected", _("rejected")


class EfacturaState(models.Model):
    invoice = models.OneToOneField(
        "invoices.Invoice", on_delete=models.PROTECT, primary_key=True, related_name="efactura"
    )
    # company and upload_index: no index of their own; the (company, state) index and the
    # efactura_upload_index_once constraint start with them, and every lookup names the company.
    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    state = models.CharField(max_length=10, choices=EState.choices, default=EState.NOT_SENT)
    upload_index = models.CharField(max_length=20, blank=True)
    download_id = models.CharField(max_length=20, blank=True)
    anaf_state = models.CharField(max_length=60, blank=True)  # last ``stare`` seen
    errors = models.JSONField(default=list, blank=True)  # ANAF's messages, in plain words
    raw_errors = models.JSONField(default=list, blank=True)  # ANAF's messages, verbatim
    xml_sha256 = models.CharField(max_length=64, blank=True)  # the XML that was uploaded
    # ANAF's answer (invoice + ANAF's signature, or the error file): ANAF keeps it ~60 days only.
    answer_zip = models.BinaryField(null=True, blank=True)
    answer_sha256 = models.CharField(max_length=64, blank=True)
    answer_downloaded_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    uploading_since = models.DateTimeField(null=True, blank=True)
    uploaded_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    retries = models.PositiveIntegerField(default=0)  # consecutive failures, for back-off
    # ANAF's per-message daily quotas (100 status queries, 10 downloads), counted per Bucharest day.
    quota_day = models.DateField(null=True, blank=True)
    status_queries = models.PositiveSmallIntegerField(default=0)
    downloads = models.PositiveSmallIntegerField(default=0)
    deadline_notified_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["company", "state"]),
        ]
        constraints = [
            # One upload index belongs to one invoice: reconciliation relies on this.
            models.UniqueConstraint(
                fields=["company", "upload_index"],
                condition=~models.Q(upload_index=""),
                name="efactura_upload_index_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.state}"


class Attempt(models.Model):
    """Every exchange with ANAF about an invoice, append-only (the invoice page shows them)."""

    class Action(models.TextChoices):
        UPLOAD = "upload", _("upload")
        STATUS = "status", _("status query")
        DOWNLOAD = "download", _("download")
        RECONCILE = "reconcile", _("reconciliation")

    state = models.ForeignKey(EfacturaState, on_delete=models.CASCADE, related_name="attempts")
    action = models.CharField(max_length=10, choices=Action.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, blank=True)  # ok, refused, unknown, unavailable…
    detail = models.TextField(blank=True)
    upload_index = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["started_at", "pk"]


class IncomingKind(models.TextChoices):
    UNREAD = "", _("not read yet")
    INVOICE = "invoice", _("invoice")
    CREDIT_NOTE = "credit_note", _("credit note")
    # The ZIP holds ANAF's error file (an upload ANAF refused), not an invoice.
    ERRORS = "errors", _("ANAF's error answer")
    UNREADABLE = "unreadable", _("unreadable")


class IncomingInvoice(models.Model):
    """A supplier's invoice: found in SPV (listaMesajeFactura, filter P) or a ZIP downloaded
    from SPV by hand. Once its ZIP is here, ``supplier.supplier_invoice_read`` fills the
    fields below from the XML; the ZIP itself (with ANAF's signature) is kept as it came."""

    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="incoming_invoices"
    )
    message_id = models.CharField(max_length=20, blank=True)  # empty: a ZIP uploaded by hand
    upload_index = models.CharField(max_length=20)
    supplier_cif = models.CharField(max_length=16, blank=True)
    details = models.TextField(blank=True)
    anaf_created_at = models.DateTimeField(null=True, blank=True)
    listed_at = models.DateTimeField()
    zip = models.BinaryField(null=True, blank=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)
    # What the XML says (filled when the ZIP is read).
    kind = models.CharField(max_length=12, choices=IncomingKind.choices, blank=True, default="")
    supplier_name = models.CharField(max_length=200, blank=True)
    buyer_cif = models.CharField(max_length=16, blank=True)
    number = models.CharField(max_length=200, blank=True)
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    net_total = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    vat_total = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    gross_total = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    payable = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    vat_breakdown = models.JSONField(default=list, blank=True)  # [{category, rate, base, vat}]
    lines = models.JSONField(default=list, blank=True)  # [{name, quantity, unit, price, net…}]
    problem = models.TextField(blank=True)  # why it is not an invoice, or ANAF's errors
    read_at = models.DateTimeField(null=True, blank=True)
    # The same supplier's invoice number arrived again (another upload of it): kept, not listed.
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-anaf_created_at", "-pk"]
        constraints = [
            # incoming_sync skips a message already listed (ignore_conflicts relies on these two).
            models.UniqueConstraint(
                fields=["company", "message_id"],
                condition=~models.Q(message_id=""),
                name="incoming_once",
            ),
            # The same ANAF id (upload index) is one invoice, however it reached us.
            models.UniqueConstraint(
                fields=["company", "upload_index"],
                condition=~models.Q(upload_index=""),
                name="incoming_upload_index_once",
            ),
            # One listed invoice per supplier and number (supplier.supplier_invoice_read marks
            # a second one as a duplicate instead).
            models.UniqueConstraint(
                fields=["company", "supplier_cif", "number"],
                condition=~models.Q(number="") & models.Q(duplicate_of__isnull=True),
                name="incoming_supplier_number_once",
            ),
        ]
        indexes = [
            # The supplier-invoice list: a company's invoices, newest issue date first.
            models.Index(fields=["company", "-issue_date", "-id"], name="incoming_list"),
        ]


class InvoiceCorrection(models.Model):
    """One correction of an invoice ANAF rejected: its buyer, delivery data and notes as they
    are from this version on, the XML that replaced the rejected one, who, when and why.

    Append-only. The invoice row stays as issued (a trigger forbids changing it); the
    documents' snapshot (``documents.snapshot.from_invoice``) applies the latest correction,
    so the PDF, the XML and the portal show the corrected data. Amounts and lines are never
    corrected here: they need a storno.
    """

    invoice = models.ForeignKey(
        "invoices.Invoice", on_delete=models.PROTECT, related_name="efactura_corrections"
    )
    company = models.ForeignKey("companies.Company", on_delete=models.CASCADE, related_name="+")
    version = models.PositiveSmallIntegerField()  # 1, 2…: the XML versions are 0 (as issued), 1…
    buyer = models.JSONField()  # the whole buyer snapshot from this version on
    delivery = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True)
    changes = models.JSONField(default=list)  # [{field, old, new}]
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_by_name = models.CharField(max_length=150)
    created_at = models.DateTimeField()
    xml = models.BinaryField()  # this version's XML, as checked and queued for upload
    xml_sha256 = models.CharField(max_length=64)
    # What it replaced: the XML ANAF rejected, ANAF's messages and its error file.
    previous_xml = models.BinaryField()
    previous_sha256 = models.CharField(max_length=64)
    rejected_upload_index = models.CharField(max_length=20, blank=True)
    rejected_errors = models.JSONField(default=list, blank=True)
    rejected_answer_zip = models.BinaryField(null=True, blank=True)

    class Meta:
        ordering = ["invoice", "version"]
        constraints = [
            # correction.invoice_efactura_correct numbers versions under the state row's lock.
            models.UniqueConstraint(fields=["invoice", "version"], name="correction_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} v{self.version}"


class RegistryAnswer(models.Model):
    """ANAF's VAT-payer registry answer for one CUI on one date (the cache)."""

    cui = models.CharField(max_length=10)  # digits only
    query_date = models.DateField()
    fetched_at = models.DateTimeField()
    found = models.BooleanField()
    payload = models.JSONField(default=dict)  # the ``found[]`` item as ANAF sent it

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cui", "query_date"], name="registry_answer_once")
        ]
        indexes = [models.Index(fields=["cui", "-fetched_at"])]


class ClientAnafCheck(models.Model):
    """What the registry re-check found different for a client; open until acknowledged."""

    client = models.ForeignKey(
        "clients.Client", on_delete=models.CASCADE, related_name="anaf_checks"
    )
    checked_at = models.DateTimeField()
    changes = models.JSONField(default=list)  # [{field, old, new, applied}]
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-checked_at"]
