"""Issued invoices and credit notes: immutable snapshots, numbered without gaps.

Immutability is enforced three times: the model refuses save/delete of an issued
document, the queryset refuses bulk delete, and database triggers (migration 0002)
refuse any UPDATE of the legal content and any DELETE, whatever code path tries.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImmutableInvoiceError(Exception):
    pass


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", _("invoice")
    CREDIT_NOTE = "credit_note", _("credit note")


class InvoiceOrigin(models.TextChoices):
    SCHEDULE = "schedule", _("contract schedule")
    MANUAL = "manual", _("by hand")


class InvoiceStatus(models.TextChoices):
    ISSUED = "issued", _("issued")
    PARTIALLY_CREDITED = "partially_credited", _("partially credited")
    CANCELLED = "cancelled", _("cancelled (storno)")


# Columns a trigger allows to change after issue (state that follows the invoice, not its content).
MUTABLE_COLUMNS = ("status", "updated_at")


class InvoiceQuerySet(models.QuerySet):
    def delete(self):  # type: ignore[override]
        raise ImmutableInvoiceError("issued invoices are never deleted; issue a storno instead")


class Invoice(models.Model):
    # Indexes (issue 22: every index is written by each of the run's inserts, so each one is
    # here because a query or a constraint needs it). company, series and client have no index
    # of their own: invoice_company_recent, invoice_number_once and the client index below
    # start with them and serve the same lookups.
    company = models.ForeignKey(
        "companies.Company", on_delete=models.PROTECT, related_name="invoices", db_index=False
    )
    series = models.ForeignKey(
        "companies.InvoiceSeries", on_delete=models.PROTECT, related_name="invoices", db_index=False
    )
    year = models.PositiveSmallIntegerField()
    number = models.PositiveIntegerField()
    full_number = models.CharField(max_length=30)
    kind = models.CharField(max_length=12, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE)
    origin = models.CharField(
        max_length=10, choices=InvoiceOrigin.choices, default=InvoiceOrigin.SCHEDULE
    )
    status = models.CharField(
        max_length=20, choices=InvoiceStatus.choices, default=InvoiceStatus.ISSUED
    )

    contract = models.ForeignKey(
        "contracts.Contract",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoices",
    )
    client = models.ForeignKey(
        "clients.Client", on_delete=models.PROTECT, related_name="invoices", db_index=False
    )
    period_index = models.PositiveIntegerField(null=True, blank=True)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    credited_invoice = models.ForeignKey(  # indexed where set only: invoice_credit_notes
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
        db_index=False,
    )

    issued_at = models.DateTimeField()
    issue_date = models.DateField()
    due_date = models.DateField()
    # No index: only deleting a user looks invoices up by issuer (and PROTECT then refuses it);
    # one scan on that rare day costs less than an index entry written with every invoice.
    issuer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    issuer_name = models.CharField(max_length=150)

    currency = models.CharField(max_length=3)
    price_currency = models.CharField(max_length=3)
    fx_rate = models.DecimalField(max_digits=18, decimal_places=8, null=True, blank=True)
    fx_date = models.DateField(null=True, blank=True)
    net_total = models.DecimalField(max_digits=16, decimal_places=2)
    vat_total = models.DecimalField(max_digits=16, decimal_places=2)
    gross_total = models.DecimalField(max_digits=16, decimal_places=2)
    vat_total_ron = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    vat_breakdown = models.JSONField(default=list)  # [{category, rate, base, vat, vat_ron}]

    seller = models.JSONField()  # the company as it was at issue time
    buyer = models.JSONField()  # the client as it was at issue time
    buyer_name = models.CharField(max_length=200)
    contract_number = models.CharField(max_length=50, blank=True)
    contract_date = models.DateField(null=True, blank=True)
    vat_on_collection = models.BooleanField(default=False)
    notes = models.TextField(blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        constraints = [
            # Gapless numbering relies on this: a number is given once per series and year.
            models.UniqueConstraint(
                fields=["series", "year", "number"], name="invoice_number_once"
            ),
            # Exactly once per period: InvoicePeriod.invoice_period_once (issue 18: a client's
            # grouped invoice covers several contracts' periods, so the rule lives there).
        ]
        indexes = [
            # The invoice list's order (newest first, ties by id): a page is an index range scan.
            models.Index(fields=["company", "-issued_at", "-id"], name="invoice_company_recent"),
            # The dashboard's invoiced-per-month sums read only this index (gross_total is a key
            # column rather than INCLUDE so that SQLite, which has no INCLUDE, is covered too).
            models.Index(
                fields=["company", "currency", "issue_date", "kind", "gross_total"],
                name="invoice_month_figures",
            ),
            models.Index(fields=["company", "status"]),
            models.Index(fields=["client", "-issued_at"]),
            # An invoice's credit notes (storno limits, the invoice page); most invoices have none,
            # so the index holds only the credit notes.
            models.Index(
                fields=["credited_invoice"],
                condition=models.Q(credited_invoice__isnull=False),
                name="invoice_credit_notes",
            ),
        ]
        ordering = ["-issued_at", "-number"]

    def __str__(self) -> str:
        return self.full_number

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None:
            fields = kwargs.get("update_fields")
            if not fields or set(fields) - set(MUTABLE_COLUMNS):
                raise ImmutableInvoiceError(f"{self.full_number} is issued and cannot be modified")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise ImmutableInvoiceError(
            f"{self.full_number} is issued and cannot be deleted; issue a storno"
        )


class InvoiceLineQuerySet(models.QuerySet):
    def delete(self):  # type: ignore[override]
        raise ImmutableInvoiceError("lines of issued invoices are never deleted")


class InvoiceLine(models.Model):
    # invoice: no index of its own, invoice_line_position_once starts with it.
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="lines", db_index=False
    )
    position = models.PositiveSmallIntegerField()
    product_code = models.CharField(max_length=40, blank=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    unit_code = models.CharField(max_length=3)
    unit_name = models.CharField(max_length=20)
    quantity = models.DecimalField(max_digits=14, decimal_places=4)
    unit_price = models.DecimalField(max_digits=16, decimal_places=4)
    vat_category = models.CharField(max_length=2)
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2)
    net = models.DecimalField(max_digits=16, decimal_places=2)
    # The line's discounts (EN 16931 BG-27), ``net`` being already after them: a list of
    # {"amount": "12.50", "reason": "...", "percent": "10" | null, "trial": bool}, negated on a
    # credit note. A JSON column rather than a child table: they are only ever read with their
    # line (snapshot, PDF, XML, storno), never queried on their own, and the billing run's bulk
    # insert of lines stays one statement; the line's immutability trigger covers them too.
    allowances = models.JSONField(default=list, blank=True)
    credited_line = models.ForeignKey(  # indexed where set only: invoice_line_credits
        "self", on_delete=models.PROTECT, null=True, blank=True, db_index=False
    )
    # The line group (issue 18) of a client's grouped invoice: the contract and the period the
    # line bills, printed with it ("Contract X, perioada ..."), what storno per group selects.
    # Empty on every other line (the invoice's own contract and period say it). No index: read
    # with their invoice only.
    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", db_index=False,
    )  # fmt: skip
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)

    objects = InvoiceLineQuerySet.as_manager()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "position"], name="invoice_line_position_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["credited_line"],
                condition=models.Q(credited_line__isnull=False),
                name="invoice_line_credits",
            )
        ]

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None:
            raise ImmutableInvoiceError("lines of issued invoices cannot be modified")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise ImmutableInvoiceError("lines of issued invoices cannot be deleted")


class InvoicePeriod(models.Model):
    """A contract period an invoice covers: one row for a contract invoice, one per line group
    for a client's grouped invoice (invoices.grouping). Written in the issuing transaction by
    every path that issues a contract period (issue_batch, oneoff.invoice_issue_draft for
    reviewed and proforma periods); never changed (trigger, migration 0015)."""

    # invoice: no index of its own, invoice_period_sequence_once starts with it.
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="periods", db_index=False
    )
    # contract: no index of its own, invoice_period_once starts with it.
    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    period_index = models.PositiveIntegerField()
    period_start = models.DateField()
    period_end = models.DateField()
    sequence = models.PositiveSmallIntegerField(default=1)  # the line group's place, from 1

    class Meta:
        ordering = ["invoice", "sequence"]
        constraints = [
            # Exactly once per (contract, period): issue_batch (grouped or not) and
            # invoice_issue_draft rely on this as the last line of defence if two runs ever
            # claimed the same contract; the second one's whole block rolls back.
            models.UniqueConstraint(
                fields=["contract", "period_start"], name="invoice_period_once"
            ),
            models.UniqueConstraint(
                fields=["invoice", "sequence"], name="invoice_period_sequence_once"
            ),
        ]


class BillingRun(models.Model):
    """One run of the engine: what it was asked and what it did (dashboard, progress)."""

    company = models.ForeignKey(
        "companies.Company",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="billing_runs",
        help_text="null: a run over every company (the worker, `recurent bill` without --company)",
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    as_of = models.DateTimeField(null=True, blank=True)
    dry_run = models.BooleanField(default=False)
    trigger = models.CharField(max_length=20, default="cli")  # cli, worker, web, api
    due_total = models.PositiveIntegerField(default=0)
    issued = models.PositiveIntegerField(default=0)
    held = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]


class ReviewStatus(models.TextChoices):
    """Where a contract period's draft stands in review (invoices.review); "" for other drafts."""

    PENDING = "pending", _("waiting for review")
    APPROVED = "approved", _("approved")
    SKIPPED = "skipped", _("skipped")


class InvoiceDraft(models.Model):
    """A one-off invoice being written by hand: editable, and without a number.

    The number, the instant and every amount come only at issue (``oneoff.invoice_issue_draft``),
    under the series lock, through the engine's drafting; ``invoice`` then points at the result
    and the draft is frozen (the service refuses edits of an issued draft).
    """

    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="invoice_drafts"
    )
    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+")
    series = models.ForeignKey(
        "companies.InvoiceSeries", on_delete=models.PROTECT, related_name="+"
    )
    issue_date = models.DateField(null=True, blank=True)  # null: the day it is issued
    due_date = models.DateField(null=True, blank=True)  # null: the issue date
    currency = models.CharField(max_length=3, default="RON")  # the invoice's currency
    price_currency = models.CharField(max_length=3, default="RON")  # the lines' prices
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    invoice = models.OneToOneField(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="draft"
    )
    # A proforma issued from this draft (invoices.proforma): its number and its PDF as sent;
    # the draft is then frozen, and the invoice issued from it later is linked by ``invoice``.
    proforma_series = models.ForeignKey(
        "invoices.ReceiptSeries", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    proforma_number = models.CharField(max_length=30, blank=True)
    proforma_issued_at = models.DateTimeField(null=True, blank=True)
    proforma_pdf = models.BinaryField(null=True, blank=True)
    # A contract's period billed by proforma first (invoices.proforma_period): the period it
    # stands for, its total as sent (what a payment must cover), and until when it can be paid.
    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, null=True, blank=True,
        related_name="proformas",
    )  # fmt: skip
    period_index = models.PositiveIntegerField(null=True, blank=True)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    proforma_total = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    proforma_expires_on = models.DateField(null=True, blank=True)
    proforma_expired_at = models.DateTimeField(null=True, blank=True)
    # A contract's period waiting for review before numbering (invoices.review): prepared at the
    # period's issue instant; approving it issues it (``invoice``), skipping it issues nothing.
    # ``review_charges``: the ids of the pending one-off charges it carries (marked at approval,
    # so that the next period does not take them again).
    review_status = models.CharField(max_length=10, choices=ReviewStatus.choices, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", db_index=False,
    )  # fmt: skip
    review_charges = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            # The drafts page lists a company's drafts still waiting to be issued.
            models.Index(fields=["company", "invoice"], name="invoice_draft_open"),
            # The expiry task (proforma_period.proformas_expire): open proformas by expiry day.
            models.Index(
                fields=["proforma_expires_on"],
                condition=models.Q(invoice__isnull=True, proforma_expired_at__isnull=True),
                name="proforma_open_expiry",
            ),
            # The review queue and the dashboard's stale report: a company's drafts waiting
            # for review, oldest first (invoices.review); only those are in the index.
            models.Index(
                fields=["company", "created_at"],
                condition=models.Q(review_status="pending"),
                name="invoice_draft_review_queue",
            ),
        ]
        constraints = [
            # Exactly once per period: proforma_period.proformas_issue relies on it as the last
            # line of defence, as issue_batch does on InvoicePeriod.invoice_period_once.
            models.UniqueConstraint(
                fields=["contract", "period_start"],
                condition=models.Q(contract__isnull=False),
                name="proforma_once_per_period",
            ),
        ]


class InvoiceDraftLine(models.Model):
    draft = models.ForeignKey(InvoiceDraft, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    product_code = models.CharField(max_length=40, blank=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    unit_code = models.CharField(max_length=3, default="C62")
    unit_name = models.CharField(max_length=20, default="buc")
    quantity = models.DecimalField(max_digits=14, decimal_places=4)
    unit_price = models.DecimalField(max_digits=16, decimal_places=4)
    vat_category = models.CharField(max_length=2, default="S")
    vat_rate = models.CharField(max_length=20, default="standard")  # engine.vat.VatRateCode
    # A percentage discount line of a draft waiting for review (a line of its own, negative,
    # after the line it discounts): its percentage, so that a reviewer's change of that line's
    # quantity prices it again (review.review_update). Null on every other line.
    percent = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["draft", "position"], name="invoice_draft_line_once")
        ]


class ReceiptSeries(models.Model):
    """The numbering series of cash receipts (chitanțe): its own counter, locked at issue.

    Separate from InvoiceSeries so that no invoice path (contracts, billing runs, one-off,
    storno) can ever take a receipt number, and no receipt an invoice number. The number
    itself is allocated by the same pure rule (``engine.numbering.allocate_block``).
    """

    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="receipt_series"
    )
    code = models.CharField(_("series code"), max_length=10)
    # receipt or proforma: documents numbered in series that are not invoices (not fiscal
    # invoices: no e-Factura, no VAT report), each kind taking numbers only from its own series.
    kind = models.CharField(max_length=10, default="receipt")
    next_number = models.PositiveIntegerField(_("next number"), default=1)
    width = models.PositiveSmallIntegerField(_("digits"), default=6)
    yearly_restart = models.BooleanField(_("restart numbering every year"), default=False)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    last_issued_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="receipt_series_code_once")
        ]


class Receipt(models.Model):
    """A cash receipt as issued: one per cash payment, never changed (like an invoice)."""

    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    series = models.ForeignKey(ReceiptSeries, on_delete=models.PROTECT, related_name="receipts")
    year = models.PositiveSmallIntegerField()
    number = models.PositiveIntegerField()
    full_number = models.CharField(max_length=30)
    payment = models.OneToOneField(
        "payments.Payment", on_delete=models.PROTECT, related_name="receipt"
    )
    issued_at = models.DateTimeField()
    date = models.DateField()
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    amount_words = models.CharField(max_length=400)
    seller = models.JSONField()
    payer = models.JSONField()
    payer_name = models.CharField(max_length=200)
    paid_invoices = models.JSONField(default=list)  # [{"number", "amount"}] as at issue
    issuer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    issuer_name = models.CharField(max_length=150)
    # Cash from this payer on this day above the legal limit (payments.receipts.CASH_LIMITS).
    over_cash_limit = models.BooleanField(default=False)

    class Meta:
        ordering = ["-issued_at", "-number"]
        constraints = [
            # Gapless numbering relies on this: a number is given once per series and year.
            models.UniqueConstraint(fields=["series", "year", "number"], name="receipt_number_once")
        ]
