"""Payments, their allocation to invoices, bank statements and direct-debit collection.

Invoices are immutable: nothing here writes to them. Their payment state (unpaid, partially
paid, paid, overdue, cancelled, collection requested) is derived from the rows below by
``payments.selectors``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from recurent.common.models import TimeStamped
from recurent.common.validators import validate_currency, validate_iban


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("bank transfer")
    CARD = "card", _("card")
    CASH = "cash", _("cash")
    DIRECT_DEBIT = "direct_debit", _("direct debit")
    COMPENSATION = "compensation", _("compensation")


class PaymentSource(models.TextChoices):
    MANUAL = "manual", _("recorded by hand")
    STATEMENT = "statement", _("bank statement")
    # Paid on a payment processor's page or charged to a saved card (recurent.gateways).
    ONLINE = "online", _("online payment")


class Payment(TimeStamped):
    company = models.ForeignKey(
        "companies.Company", on_delete=models.PROTECT, related_name="payments"
    )
    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="payments")
    date = models.DateField(_("date"))
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)
    currency = models.CharField(
        _("currency"), max_length=3, default="RON", validators=[validate_currency]
    )
    method = models.CharField(
        _("method"),
        max_length=16,
        choices=PaymentMethod.choices,
        default=PaymentMethod.BANK_TRANSFER,
    )
    receipt_number = models.CharField(_("receipt number"), max_length=40, blank=True)
    reference = models.CharField(_("reference"), max_length=200, blank=True)
    source = models.CharField(
        max_length=10, choices=PaymentSource.choices, default=PaymentSource.MANUAL
    )
    statement_line = models.OneToOneField(
        "payments.StatementLine",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payment",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField()
    # Paid against a proforma (payments.proformas): it stays unallocated until the payments
    # against the proforma cover it; then the invoice is issued and this is allocated to it.
    proforma = models.ForeignKey(
        "invoices.InvoiceDraft", on_delete=models.PROTECT, null=True, blank=True,
        related_name="payments",
    )  # fmt: skip

    # A payment is never deleted: a mistake or a bank return reverses it, and the reason stays.
    reversed = models.BooleanField(_("reversed"), default=False)
    reversed_reason = models.TextField(_("reason of the reversal"), blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-date", "-pk"]
        indexes = [
            models.Index(fields=["company", "-date"]),
            models.Index(fields=["client", "currency"]),
            # Collected per month (the dashboard, reports): every column the sum reads is in the
            # index, so a year of payments is an index-only read (docs/benchmarks/web.md).
            models.Index(
                fields=["company", "currency", "reversed", "date", "amount"],
                name="payment_collected_by_day",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="payment_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.amount} {self.currency}"


class Allocation(models.Model):
    """Part of a payment applied to one invoice. Allocations of a reversed payment no longer count."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    invoice = models.ForeignKey(
        "invoices.Invoice", on_delete=models.PROTECT, related_name="allocations"
    )
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="allocation_amount_positive"
            ),
        ]
        indexes = [models.Index(fields=["invoice", "payment"])]


# --- bank statements -------------------------------------------------------------------------


class ColumnMapping(TimeStamped):
    """Which columns of a bank account's CSV export hold what (for banks without a layout of
    their own, ``exports.parse_mapped``); one per account, saved once and used at every upload."""

    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="column_mappings"
    )
    account_iban = models.CharField(_("account IBAN"), max_length=34, validators=[validate_iban])
    currency = models.CharField(_("currency"), max_length=3, default="RON")
    # Header texts of the columns, as the export writes them.
    date_column = models.CharField(_("date column"), max_length=80)
    amount_column = models.CharField(_("amount column (signed)"), max_length=80, blank=True)
    credit_column = models.CharField(_("credit column"), max_length=80, blank=True)
    debit_column = models.CharField(_("debit column"), max_length=80, blank=True)
    details_column = models.CharField(_("details column"), max_length=80)
    payer_column = models.CharField(_("payer name column"), max_length=80, blank=True)
    payer_iban_column = models.CharField(_("payer IBAN column"), max_length=80, blank=True)
    reference_column = models.CharField(_("reference column"), max_length=80, blank=True)
    date_format = models.CharField(_("date format"), max_length=20, default="%d.%m.%Y")
    decimal_comma = models.BooleanField(_("decimal comma (1.234,56)"), default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company", "account_iban"], name="one_mapping_per_account"
            )
        ]

    def __str__(self) -> str:
        return self.account_iban


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("waiting")
    RUNNING = "running", _("importing")
    DONE = "done", _("imported")
    FAILED = "failed", _("failed")


class StatementImport(models.Model):
    """One uploaded statement file. The upload is checked whole at once (a broken file is refused
    in the request); the import itself runs in the worker (``bank.statement_import_next``), all
    of it in one transaction, so a failure leaves nothing but the reason here."""

    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="statement_imports"
    )
    filename = models.CharField(max_length=200)
    format = models.CharField(max_length=10)  # camt053, mt940
    sha256 = models.CharField(max_length=64)
    account_iban = models.CharField(max_length=34, blank=True)
    imported_at = models.DateTimeField()
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    lines_total = models.PositiveIntegerField(default=0)
    lines_new = models.PositiveIntegerField(default=0)
    lines_duplicate = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    unmatched = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=8, choices=ImportStatus.choices, default=ImportStatus.DONE)
    content = models.BinaryField(null=True, blank=True)  # kept until the worker has imported it
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A CSV export read with the account's saved columns.
    mapping = models.ForeignKey(
        ColumnMapping, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The matching report: {"rules": {rule: count}, "suggested": n, "credit": n, "partial": n}.
    report = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-imported_at", "-pk"]
        indexes = [
            # The worker's claim: the oldest waiting import.
            models.Index(
                fields=["status", "imported_at"],
                name="statement_import_queue",
                condition=models.Q(status="queued"),
            ),
        ]


class LineStatus(models.TextChoices):
    MATCHED = "matched", _("matched")
    UNMATCHED = "unmatched", _("to match by hand")
    RETURNED = "returned", _("direct-debit return")
    IGNORED = "ignored", _("not a client payment")


class StatementLine(models.Model):
    """One booked entry of a bank statement (credits, and debits that return a collection)."""

    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="statement_lines"
    )
    statement = models.ForeignKey(StatementImport, on_delete=models.CASCADE, related_name="lines")
    account_iban = models.CharField(max_length=34)
    booking_date = models.DateField()
    value_date = models.DateField(null=True, blank=True)
    amount = models.DecimalField(max_digits=16, decimal_places=2)  # always positive
    currency = models.CharField(max_length=3)
    credit = models.BooleanField(default=True)
    reversal = models.BooleanField(default=False)
    bank_reference = models.CharField(max_length=120)
    end_to_end_id = models.CharField(max_length=120, blank=True)
    payer_name = models.CharField(max_length=200, blank=True)
    payer_iban = models.CharField(max_length=34, blank=True)
    remittance = models.TextField(blank=True)
    return_reason = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=LineStatus.choices)
    match_note = models.CharField(max_length=300, blank=True)
    # Which rule matched it (bank.MatchRule), for the matching report.
    match_rule = models.CharField(max_length=20, blank=True)
    # Name similarity and exact amount: offered first to the person who matches, never applied.
    suggested_invoice = models.ForeignKey(
        "invoices.Invoice", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source_line = models.PositiveIntegerField(default=0)  # line in the file, for people

    class Meta:
        ordering = ["booking_date", "pk"]
        constraints = [
            # Re-importing the same or an overlapping statement relies on this: an entry is recorded
            # once (statements.statement_import skips the ones it finds, the constraint is the backstop).
            models.UniqueConstraint(
                fields=[
                    "company",
                    "account_iban",
                    "booking_date",
                    "amount",
                    "credit",
                    "bank_reference",
                ],
                name="statement_entry_once",
            ),
        ]
        indexes = [models.Index(fields=["company", "status"])]


# --- direct debit ------------------------------------------------------------------------------


class MandateStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    SUSPENDED = "suspended", _("suspended")
    REVOKED = "revoked", _("revoked")


class Mandate(TimeStamped):
    """The client's prior agreement to be debited (SEPA Direct Debit Core mandate)."""

    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="mandates"
    )
    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="mandates")
    mandate_id = models.CharField(_("mandate id"), max_length=35)
    signed_on = models.DateField(_("signature date"))
    debtor_iban = models.CharField(_("debtor IBAN"), max_length=34, validators=[validate_iban])
    debtor_bic = models.CharField(_("debtor BIC"), max_length=11, blank=True)
    debtor_name = models.CharField(_("debtor name"), max_length=70)
    status = models.CharField(
        max_length=10, choices=MandateStatus.choices, default=MandateStatus.ACTIVE
    )
    # Set by the first collection: SEPA wants FRST for the first debit and RCUR afterwards.
    first_collected_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["client__name", "mandate_id"]
        constraints = [
            models.UniqueConstraint(fields=["company", "mandate_id"], name="mandate_id_once"),
            models.UniqueConstraint(
                fields=["client"],
                condition=models.Q(status="active"),
                name="one_active_mandate_per_client",
            ),
        ]

    def __str__(self) -> str:
        return self.mandate_id


class CreditorSettings(TimeStamped):
    """What the company's bank needs in a collection file (not part of the core company data)."""

    company = models.OneToOneField(
        "companies.Company", on_delete=models.CASCADE, related_name="creditor_settings"
    )
    creditor_id = models.CharField(_("SEPA creditor identifier"), max_length=35)
    bic = models.CharField(_("BIC of the company's bank"), max_length=11)
    iban = models.CharField(_("IBAN collected into"), max_length=34, validators=[validate_iban])


class CollectionRun(models.Model):
    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="collection_runs"
    )
    collection_date = models.DateField()
    currency = models.CharField(max_length=3)
    message_id = models.CharField(max_length=35)
    schema = models.CharField(max_length=20)
    content = models.BinaryField()
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    total = models.DecimalField(max_digits=16, decimal_places=2)
    count = models.PositiveIntegerField()

    class Meta:
        ordering = ["-created_at", "-pk"]


class CollectionStatus(models.TextChoices):
    REQUESTED = "requested", _("collection requested")
    PAID = "paid", _("collected")
    RETURNED = "returned", _("returned")


class CollectionItem(models.Model):
    run = models.ForeignKey(CollectionRun, on_delete=models.CASCADE, related_name="items")
    invoice = models.ForeignKey(
        "invoices.Invoice", on_delete=models.PROTECT, related_name="collection_items"
    )
    mandate = models.ForeignKey(Mandate, on_delete=models.PROTECT, related_name="collections")
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    end_to_end_id = models.CharField(max_length=35, unique=True)
    sequence_type = models.CharField(max_length=4)
    status = models.CharField(
        max_length=10, choices=CollectionStatus.choices, default=CollectionStatus.REQUESTED
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    return_reason = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # An invoice is asked of the bank once at a time: a second file cannot debit it again.
            models.UniqueConstraint(
                fields=["invoice"],
                condition=models.Q(status="requested"),
                name="one_open_collection_per_invoice",
            ),
        ]


# --- stored balances ---------------------------------------------------------------------------


class BalanceState(models.TextChoices):
    OPEN = "open", _("open")
    PAID = "paid", _("paid")
    CANCELLED = "cancelled", _("cancelled")
    CREDIT_NOTE = "credit_note", _("credit note")


class InvoiceBalance(models.Model):
    """What is paid and left to pay on one issued document, kept by the services that change it.

    Invoices are immutable (a trigger refuses updates), so the running figures live here, one row
    per invoice and per credit note: written when the document is issued (``balances.on_issued``,
    an AFTER_ISSUE hook), when a payment is allocated or reversed (``services``) and when a credit
    note reduces the invoice it credits. ``balances.mismatches`` recomputes every row from the
    allocations and credit notes; the lists and the dashboard read these rows instead of
    recomputing. "Overdue" is not stored: it depends on the day it is asked (``due_date``).
    """

    invoice = models.OneToOneField(
        "invoices.Invoice", on_delete=models.PROTECT, primary_key=True, related_name="balance"
    )
    # company and client: no index of their own, the two indexes below start with them.
    company = models.ForeignKey(
        "companies.Company", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    client = models.ForeignKey(
        "clients.Client", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    currency = models.CharField(max_length=3)
    total = models.DecimalField(max_digits=16, decimal_places=2)  # the document's gross total
    credited = models.DecimalField(max_digits=16, decimal_places=2)  # credit notes, their size
    paid = models.DecimalField(max_digits=16, decimal_places=2)  # allocations not reversed
    outstanding = models.DecimalField(max_digits=16, decimal_places=2)  # 0 unless open
    due_date = models.DateField()
    state = models.CharField(max_length=12, choices=BalanceState.choices)

    class Meta:
        indexes = [
            # Receivables (open rows of one currency, oldest due first) and the invoice list's
            # payment-state filter (company and state).
            models.Index(
                fields=["company", "state", "currency", "due_date", "invoice"],
                name="balance_company_state_due",
            ),
            # A client's open invoices (allocation proposals, the portal, reminders).
            models.Index(fields=["client", "state", "due_date"], name="balance_client_state_due"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.outstanding} {self.currency} {self.state}"


class InterestCharge(models.Model):
    """Late-payment interest invoiced on one late invoice for its days up to ``until``
    (recurent.payments.interest). The next charge on the same invoice starts the day after
    the newest ``until`` whose interest invoice was not cancelled: no day is invoiced twice."""

    company = models.ForeignKey(
        "companies.Company", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    invoice = models.ForeignKey(
        "invoices.Invoice", on_delete=models.PROTECT, related_name="interest_charges"
    )
    interest_invoice = models.ForeignKey(
        "invoices.Invoice", on_delete=models.PROTECT, related_name="interest_lines"
    )
    since = models.DateField()  # first day counted
    until = models.DateField()  # last day counted
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    # The calculation statement: rule and segments (from, to, days, base, rate, amount).
    statement = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["company", "invoice"], name="interest_company_invoice")]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="interest_positive"),
            models.CheckConstraint(
                condition=models.Q(until__gte=models.F("since")), name="interest_days_forward"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} {self.since}..{self.until}: {self.amount}"
