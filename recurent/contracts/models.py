"""Contracts: who is invoiced, for what, and when. The billing cursor lives here."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from recurent.common.models import TimeStamped
from recurent.common.validators import validate_currency, validate_not_negative, validate_positive
from recurent.companies.models import InterestRuleChoice
from recurent.engine.cycles import BUCHAREST, Cycle, CycleKind, Schedule, wall_clock
from recurent.engine.indexation import DateRule as IndexDateRule
from recurent.engine.indexation import Method as IndexMethod


class ContractStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    ACTIVE = "active", _("active")
    PAUSED = "paused", _("paused")
    CANCELLED = "cancelled", _("cancelled")
    ENDED = "ended", _("ended")


class HoldKind(models.TextChoices):
    NONE = "", _("none")
    # Bad or missing data: waits until someone edits the contract, client or product.
    DATA = "data", _("data to fix")
    # No BNR rate yet: retried by every run.
    FX = "fx", _("waiting for an exchange rate")
    # A variable line without usage for the period (contracts.usage): retried by every run.
    USAGE = "use", _("waiting for readings")


class Contract(TimeStamped):
    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="contracts"
    )
    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="contracts")
    number = models.CharField(_("contract number"), max_length=50)
    signed_on = models.DateField(_("contract date"))
    first_issue_at = models.DateTimeField(_("first invoice at"))
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)

    # Billing settings.
    series = models.ForeignKey(
        "companies.InvoiceSeries", on_delete=models.PROTECT, related_name="contracts"
    )
    issuer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="issued_contracts",
        verbose_name=_("issued by"),
    )
    cycle = models.CharField(
        _("cycle"),
        max_length=12,
        choices=[(c.value, c.value) for c in CycleKind],
        default=CycleKind.MONTHLY,
    )
    every_days = models.PositiveIntegerField(_("every N days"), null=True, blank=True)
    in_arrears = models.BooleanField(_("invoice in arrears"), default=False)
    payment_term_days = models.PositiveIntegerField(_("payment term (days)"), default=15)
    currency = models.CharField(
        _("price currency"), max_length=3, default="RON", validators=[validate_currency]
    )
    invoice_currency = models.CharField(
        _("invoice currency"), max_length=3, default="RON", validators=[validate_currency]
    )
    auto_email = models.BooleanField(_("email each invoice automatically"), default=False)
    email_template_code = models.CharField(_("email template"), max_length=40, blank=True)
    # Billed by proforma first (invoices.proforma_period): each period gets a proforma, and its
    # invoice is issued when a payment covers it; unpaid, it expires after proforma_valid_days.
    proforma_first = models.BooleanField(
        _("issue a proforma at each period; the invoice when it is paid"), default=False
    )
    proforma_valid_days = models.PositiveIntegerField(
        _("an unpaid proforma expires after (days)"), default=15, validators=[validate_positive]
    )
    # Review before numbering (invoices.review): each period is prepared as a draft at its issue
    # instant and numbered only when a person approves it (the company may ask it of every contract).
    review_before_issue = models.BooleanField(
        _("review each invoice before it is numbered"), default=False
    )
    # Yearly indexation (contracts.indexation; the rule: engine.indexation): how the prices rise
    # once a year, on which day, and how many days before the client is told.
    index_method = models.CharField(
        _("yearly indexation"),
        max_length=5,
        choices=[(m.value, m.value) for m in IndexMethod],
        default=IndexMethod.NONE,
    )
    index_percent = models.DecimalField(
        _("yearly increase (%)"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    index_date_rule = models.CharField(
        _("indexation day"),
        max_length=11,
        choices=[(r.value, r.value) for r in IndexDateRule],
        default=IndexDateRule.ANNIVERSARY,
    )
    index_day = models.PositiveSmallIntegerField(
        _("indexation day of month"), null=True, blank=True
    )
    index_month = models.PositiveSmallIntegerField(_("indexation month"), null=True, blank=True)
    index_notice_days = models.PositiveSmallIntegerField(
        _("notify the client (days before)"), default=30
    )
    # Late-payment interest (recurent.payments.interest): blank follows the company's settings;
    # "none" turns it off for this contract; a contractual rule takes its rate per day here.
    interest_rule = models.CharField(
        _("late-payment interest"), max_length=20, blank=True, default="",
        choices=[("", _("as the company")), ("none", _("no late-payment interest")),
                 *InterestRuleChoice.choices],
    )  # fmt: skip
    interest_daily_percent = models.DecimalField(
        _("contractual penalty (% a day)"), max_digits=7, decimal_places=4, null=True,
        blank=True, validators=[validate_positive],
    )  # fmt: skip

    # Variable lines without usage at the issue instant (contracts.usage, engine.usage): wait
    # (set aside, up to the company's usage_cutoff_days) or issue with the default quantity.
    missing_usage = models.CharField(
        _("when a period's readings are missing"), max_length=7, default="wait",
        choices=[("wait", _("wait for the readings")), ("default", _("use the default quantity"))],
    )  # fmt: skip

    status = models.CharField(
        max_length=10, choices=ContractStatus.choices, default=ContractStatus.DRAFT
    )

    # The billing cursor: the next period to invoice and when. Only the billing engine moves it.
    next_index = models.PositiveIntegerField(default=0, editable=False)
    next_issue_at = models.DateTimeField(null=True, blank=True, editable=False)
    final_index = models.PositiveIntegerField(null=True, blank=True, editable=False)
    paused_at = models.DateTimeField(null=True, blank=True, editable=False)

    hold_kind = models.CharField(
        max_length=4, choices=HoldKind.choices, default=HoldKind.NONE, blank=True
    )
    hold_reason = models.TextField(blank=True)
    hold_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "number"], name="contract_number_once"),
            models.CheckConstraint(
                condition=models.Q(ends_at__isnull=True)
                | models.Q(ends_at__gt=models.F("first_issue_at")),
                name="contract_ends_after_start",
            ),
        ]
        indexes = [
            # The worker's claim query: active contracts by due instant.
            models.Index(fields=["status", "next_issue_at"], name="contract_due_idx"),
        ]
        ordering = ["-signed_on", "number"]

    def __str__(self) -> str:
        return f"{self.number} ({self.client_id})"

    def schedule(self) -> Schedule:
        return Schedule(
            first_wall=wall_clock(self.first_issue_at, BUCHAREST),
            cycle=Cycle.parse(self.cycle, self.every_days),
            end=self.ends_at,
            in_arrears=self.in_arrears,
            final_index=self.final_index,
        )


class ContractLine(models.Model):
    """A product line copied onto every invoice of the periods [from_index, until_index)."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, related_name="contract_lines"
    )
    position = models.PositiveSmallIntegerField(default=1)
    quantity = models.DecimalField(max_digits=14, decimal_places=4, validators=[validate_positive])
    unit_price = models.DecimalField(
        _("unit price override"),
        max_digits=16,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[validate_not_negative],
    )
    description = models.CharField(_("description override"), max_length=100, blank=True)
    from_index = models.PositiveIntegerField(default=0)
    until_index = models.PositiveIntegerField(null=True, blank=True)

    # What the client may change from the portal (recurent.portal.services.portal_change): only
    # a self-service line, and only to a quantity within these bounds (empty: no bound beyond
    # "greater than zero"); a quantity is min_quantity plus a whole number of steps.
    self_service = models.BooleanField(_("the client may change it from the portal"), default=False)
    min_quantity = models.DecimalField(
        _("smallest quantity"), max_digits=14, decimal_places=4, null=True, blank=True
    )
    max_quantity = models.DecimalField(
        _("largest quantity"), max_digits=14, decimal_places=4, null=True, blank=True
    )
    quantity_step = models.DecimalField(
        _("quantity step"), max_digits=14, decimal_places=4, null=True, blank=True
    )
    # A variable line (contracts.usage): its quantity per period comes from UsageRecords (a sum
    # of usage, or a meter's readings difference), priced by tiers (engine.usage: a list of
    # {"up_to", "unit_price"}; empty: the line's price), at least ``minimum_charge``;
    # ``default_quantity`` when a period has no data (Contract.missing_usage).
    variable = models.BooleanField(_("variable quantity (usage)"), default=False)
    meter = models.CharField(
        _("usage from"), max_length=7, default="sum",
        choices=[("sum", _("sum of usage records")), ("reading", _("meter readings"))],
    )  # fmt: skip
    tiers = models.JSONField(_("price tiers"), default=list, blank=True)
    minimum_charge = models.DecimalField(
        _("minimum charge"), max_digits=16, decimal_places=2, null=True, blank=True,
        validators=[validate_not_negative],
    )  # fmt: skip
    default_quantity = models.DecimalField(
        _("default quantity"), max_digits=14, decimal_places=4, null=True, blank=True,
        validators=[validate_not_negative],
    )  # fmt: skip

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(unit_price__isnull=True) | models.Q(unit_price__gte=0),
                name="line_price_not_negative",
            ),
            # The portal's bounds make sense (contracts.services._check_lines says why in words).
            models.CheckConstraint(
                condition=(models.Q(min_quantity__isnull=True) | models.Q(min_quantity__gt=0))
                & (models.Q(quantity_step__isnull=True) | models.Q(quantity_step__gt=0))
                & (
                    models.Q(min_quantity__isnull=True)
                    | models.Q(max_quantity__isnull=True)
                    | models.Q(max_quantity__gte=models.F("min_quantity"))
                ),
                name="line_portal_bounds",
            ),
        ]

    def applies_to(self, index: int) -> bool:
        return self.from_index <= index and (self.until_index is None or index < self.until_index)


class ContractChange(models.Model):
    """The audit trail: who changed what on a contract, and when."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="changes")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    actor = models.CharField(
        max_length=100, blank=True, help_text="who, when not a user (portal, import)"
    )
    at = models.DateTimeField()
    action = models.CharField(max_length=40)
    changes = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at", "-pk"]


class ChargeKind(models.TextChoices):
    CHARGE = "charge", _("charge")
    CREDIT = "credit", _("credit")


class ContractCharge(models.Model):
    """A one-off charge or credit for a contract's next invoice (a setup fee, an extra hour, a
    goodwill credit).

    Exactly once: ``invoice`` is ONE nullable column, so a charge can point at one invoice at
    most. The billing engine (invoices.services.issue_batch) reads the pending charges of the
    contracts it has claimed (their rows locked) and, in the SAME transaction as the invoice
    insert, sets ``invoice`` with ``UPDATE ... WHERE id IN (...) AND invoice_id IS NULL``,
    checking that every row it priced was updated; a second worker (or a retry after a crash
    that did commit) updates no row, and the mismatch rolls its whole block back. A crash before
    the commit leaves both the invoice and the mark undone, so the charge stays pending.
    Adding or removing a charge locks the contract row first (contracts.charges), so it waits
    for a block that holds the contract instead of changing what that block priced.
    """

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="charges")
    kind = models.CharField(max_length=6, choices=ChargeKind.choices, default=ChargeKind.CHARGE)
    description = models.CharField(_("description"), max_length=100)
    quantity = models.DecimalField(
        _("quantity"), max_digits=14, decimal_places=4, validators=[validate_positive]
    )
    unit_code = models.CharField(_("unit"), max_length=3, default="C62")
    unit_price = models.DecimalField(
        _("unit price"), max_digits=16, decimal_places=4, validators=[validate_not_negative]
    )  # in the contract's price currency
    vat_category = models.CharField(_("VAT category"), max_length=2, default="S")
    vat_rate = models.CharField(_("VAT rate"), max_length=12, default="standard")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    invoice = models.ForeignKey(
        "invoices.Invoice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contract_charges",
    )

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="charge_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0), name="charge_price_not_negative"
            ),
        ]
        indexes = [
            # The engine's read of a block's pending charges, and the contract page's list.
            models.Index(
                fields=["contract"],
                condition=models.Q(invoice__isnull=True),
                name="charge_pending_idx",
            ),
        ]

    def signed_quantity(self):  # type: ignore[no-untyped-def]
        return -self.quantity if self.kind == ChargeKind.CREDIT else self.quantity


class DiscountKind(models.TextChoices):
    # engine.discounts.DiscountKind's values (contracts.discounts converts one to the other).
    PERCENT = "percent", _("percentage")
    AMOUNT = "amount", _("fixed amount")


class ContractDiscount(models.Model):
    """A discount or a trial on a contract's invoices (engine.discounts says how it is priced).

    On one line (``line_position``, a ContractLine.position) or on the whole contract (null),
    for the periods ``[from_index, from_index + periods)`` and/or those starting before
    ``until``. The billing engine (invoices.services._Block.draft) reads them with the claimed
    contract and prints each as a line allowance with ``reason``. Written only through
    contracts.discounts, which locks the contract row first, as the engine's claim does.
    """

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="discounts")
    kind = models.CharField(
        _("kind"), max_length=7, choices=DiscountKind.choices, default=DiscountKind.PERCENT
    )
    value = models.DecimalField(_("value"), max_digits=16, decimal_places=4)
    line_position = models.PositiveSmallIntegerField(_("line"), null=True, blank=True)
    from_index = models.PositiveIntegerField(_("from period"), default=0)
    periods = models.PositiveIntegerField(_("for periods"), null=True, blank=True)
    until = models.DateField(_("until"), null=True, blank=True)
    trial = models.BooleanField(_("trial"), default=False)
    reason = models.CharField(_("reason printed on the invoice"), max_length=100)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    # When the client was told the trial ends (contracts.discounts.trial_notices_tick sets it
    # once, under the row lock): set, no second notice is queued.
    trial_noticed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        # The order they apply in: each discount on what the ones before it left.
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(value__gt=0), name="discount_value_positive"),
            models.CheckConstraint(
                condition=~models.Q(kind="percent") | models.Q(value__lte=100),
                name="discount_percent_at_most_100",
            ),
        ]


class ContractIndexation(models.Model):
    """One yearly indexation of a contract: the notice, then the new prices in force.

    Exactly once per contract and year: ``indexation_once_per_year`` below. The worker task
    (contracts.indexation.indexation_tick) inserts this row and queues the client's notice in
    the same transaction, so a second run (or a second worker) hits the constraint and queues
    nothing; ``applied_at`` is set in the transaction that changes the lines, under the contract
    row lock, so the prices are changed once.
    """

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="indexations")
    year = models.PositiveSmallIntegerField()
    due_on = models.DateField()  # the indexation day the contract's rule gives
    # When the new prices start: the indexation day, or the notice plus its days if later.
    effective_on = models.DateField()
    factor = models.DecimalField(max_digits=20, decimal_places=12)
    index_used = models.JSONField(default=dict)  # engine.indexation.Factor.as_dict()
    # [{"position", "product", "description", "quantity", "old", "new"}] as strings.
    prices = models.JSONField(default=list)
    noticed_at = models.DateTimeField()
    notice_message_id = models.BigIntegerField(null=True, blank=True)  # mail.OutboxMessage
    applied_at = models.DateTimeField(null=True, blank=True)
    from_index = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-year"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "year"], name="indexation_once_per_year")
        ]
        indexes = [
            # The task's second step: the notices whose new prices are not in force yet.
            models.Index(
                fields=["effective_on"],
                condition=models.Q(applied_at__isnull=True),
                name="indexation_pending_idx",
            ),
        ]


class UsageSource(models.TextChoices):
    WEB = "web", _("web form")
    API = "api", _("API")
    CSV = "csv", _("CSV file")


class UsageRecord(models.Model):
    """Usage of a variable contract line in one period: a quantity, or a meter's two readings.

    Keyed by the line's ``position`` (ContractLine.position), as discounts are, so that a line
    change from a later period keeps the usage on the line that replaces it.
    Exactly once on an invoice: ``invoice`` is ONE nullable column, set by the billing engine
    (contracts.usage.usage_mark, called by invoices.services.issue_batch) in the issuing
    transaction with ``UPDATE ... WHERE invoice_id IS NULL`` and the row count checked, as
    ContractCharge is. Writes lock the contract row first and refuse periods already invoiced.
    """

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="usage")
    line_position = models.PositiveSmallIntegerField(_("line"))
    period_index = models.PositiveIntegerField(_("period"))
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=4)
    # A meter read by index: the previous and the new reading (quantity = their difference).
    reading_start = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)
    reading_end = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)
    # The caller's idempotency key: the same key again returns this record, not a second one.
    key = models.CharField(max_length=100, blank=True, default="")
    source = models.CharField(max_length=3, choices=UsageSource.choices, default=UsageSource.WEB)
    recorded_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    invoice = models.ForeignKey(
        "invoices.Invoice", on_delete=models.PROTECT, null=True, blank=True,
        related_name="usage_records",
    )  # fmt: skip

    class Meta:
        ordering = ["period_index", "line_position", "pk"]
        constraints = [
            # contracts.usage.usage_record relies on it: a retried key finds the first record.
            models.UniqueConstraint(
                fields=["contract", "key"], condition=~models.Q(key=""), name="usage_key_once"
            ),
            # One reading per meter and period (reading_record refuses a second, by name).
            models.UniqueConstraint(
                fields=["contract", "line_position", "period_index"],
                condition=models.Q(reading_end__isnull=False),
                name="usage_one_reading_per_period",
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=0), name="usage_quantity_not_negative"
            ),
        ]
        indexes = [
            # The engine's read of a block's pending usage (one query per block).
            models.Index(
                fields=["contract"], condition=models.Q(invoice__isnull=True),
                name="usage_pending_idx",
            ),
        ]  # fmt: skip
