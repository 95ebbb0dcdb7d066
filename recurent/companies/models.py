"""The seller (a company) and who may work in it. Every record of the domain belongs to one."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from recurent.common.models import TimeStamped
from recurent.common.validators import (
    validate_county,
    validate_cui,
    validate_iban,
    validate_not_negative,
    validate_positive,
)


class InterestRuleChoice(models.TextChoices):
    """Late-payment interest rules (recurent.engine.interest; docs/interest.md)."""

    LEGAL = "legal", _("legal interest: between professionals or for a consumer, by the client")
    LEGAL_PROFESSIONAL = "legal_professional", _("legal interest between professionals")
    LEGAL_CONSUMER = "legal_consumer", _("legal interest for a consumer")
    CONTRACTUAL = "contractual", _("contractual penalty per day")


class ProrationPolicy(models.TextChoices):
    """engine.proration.Policy's values (docs/proration.md)."""

    NEXT_PERIOD = "next_period", _("take effect from the next period")
    IMMEDIATELY = "immediately", _("take effect at once, prorated on the next invoice")


class Company(TimeStamped):
    legal_name = models.CharField(_("legal name"), max_length=200)
    cui = models.CharField(
        _("CUI/CIF"),
        max_length=12,
        validators=[validate_cui],
        help_text=_("With the RO prefix when the company is VAT-registered."),
    )
    trade_register = models.CharField(_("trade-register number"), max_length=40, blank=True)
    street = models.CharField(_("street"), max_length=150)
    city = models.CharField(_("city"), max_length=50)
    county = models.CharField(_("county"), max_length=6, blank=True, validators=[validate_county])
    country = models.CharField(_("country"), max_length=2, default="RO")
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    iban = models.CharField(_("IBAN"), max_length=34, blank=True, validators=[validate_iban])
    bank = models.CharField(_("bank"), max_length=100, blank=True)
    vat_payer = models.BooleanField(_("VAT payer"), default=True)
    vat_on_collection = models.BooleanField(_("VAT on collection (TVA la încasare)"), default=False)
    share_capital = models.CharField(_("share capital"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    logo = models.FileField(_("logo"), upload_to="logos/", blank=True)
    # Late-payment interest (recurent.payments.interest): off unless the company turns it on; a
    # contract may override the rule (Contract.interest_rule).
    interest_enabled = models.BooleanField(_("invoice late-payment interest"), default=False)
    interest_rule = models.CharField(
        _("late-payment interest rule"), max_length=20, choices=InterestRuleChoice.choices,
        default=InterestRuleChoice.LEGAL,
    )  # fmt: skip
    interest_daily_percent = models.DecimalField(
        _("contractual penalty (% a day)"), max_digits=7, decimal_places=4, null=True,
        blank=True, validators=[validate_positive],
    )  # fmt: skip
    interest_min_amount = models.DecimalField(
        _("smallest interest invoice"), max_digits=12, decimal_places=2, default=0,
        validators=[validate_not_negative],
        help_text=_("Interest below this amount waits for a later invoice."),
    )  # fmt: skip
    # Review before numbering (invoices.review): every contract's invoices wait as drafts for a
    # person's approval; drafts waiting longer than review_stale_days are shown on the dashboard.
    review_before_issue = models.BooleanField(
        _("review every contract's invoices before they are numbered"), default=False
    )
    review_stale_days = models.PositiveIntegerField(
        _("report drafts waiting for review after (days)"), default=3,
        validators=[validate_positive],
    )  # fmt: skip
    # Variable quantities (contracts.usage): a contract that waits for readings waits at most
    # this many days after its period's issue instant, then issues with the default quantity.
    usage_cutoff_days = models.PositiveIntegerField(
        _("wait for readings at most (days)"), default=5
    )
    # Proration (contracts.proration; the rule: engine.proration): a change of a contract's lines
    # in the middle of a period takes effect from the next period, or from its day with a
    # prorated charge or credit on the next invoice.
    proration_policy = models.CharField(
        _("changes in the middle of a period"), max_length=12, choices=ProrationPolicy.choices,
        default=ProrationPolicy.NEXT_PERIOD,
    )  # fmt: skip

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")

    def __str__(self) -> str:
        return self.legal_name

    def clean(self) -> None:
        # The interest settings' rule (payments.interest.interest_settings_update checks it on the
        # settings page and in the API), here for a company made whole, e.g. from an import file.
        if self.interest_rule == InterestRuleChoice.CONTRACTUAL and not self.interest_daily_percent:
            raise ValidationError({"interest_daily_percent": ValidationError(
                _("a contractual rule needs a rate per day greater than zero"), code="rate_required"
            )})  # fmt: skip


class Role(models.TextChoices):
    ADMIN = "admin", _("administrator")
    ACCOUNTANT = "accountant", _("accountant")
    VIEWER = "viewer", _("viewer")


class Membership(TimeStamped):
    """A user works only in the companies granted to them, with one role in each."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.ACCOUNTANT)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "company"], name="membership_once")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.company} ({self.role})"


class InvoiceSeries(TimeStamped):
    """A numbering series. ``next_number`` is the counter row locked at issue time.

    Numbers are given only under ``SELECT ... FOR UPDATE`` of this row (or SQLite's
    IMMEDIATE write lock), in the same transaction that writes the invoices: a crash
    rolls back the counter with them, so a number is never skipped nor reused.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="series")
    code = models.CharField(_("series code"), max_length=10)
    next_number = models.PositiveIntegerField(_("next number"), default=1)
    width = models.PositiveSmallIntegerField(_("digits"), default=6)
    yearly_restart = models.BooleanField(_("restart numbering every year"), default=False)
    year = models.PositiveSmallIntegerField(_("current year"), null=True, blank=True)
    is_default = models.BooleanField(_("default series"), default=False)
    is_credit = models.BooleanField(_("for credit notes"), default=False)
    # The newest issue instant in the series: invoice dates never go backwards along numbers.
    last_issued_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("invoice series")
        verbose_name_plural = _("invoice series")
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="series_code_once"),
            models.UniqueConstraint(
                fields=["company"], condition=models.Q(is_default=True), name="one_default_series"
            ),
            models.CheckConstraint(
                condition=models.Q(next_number__gte=1), name="series_next_positive"
            ),
        ]
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class ApiToken(models.Model):
    """A secret that acts as its user inside one company.

    Only a SHA-256 of the secret is stored: the plain token is shown once, at creation. The
    role is not copied here but read from the user's membership at every call, so a token
    can never do more than its user can do in the web app today.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    # The public part of the token ("rct_<prefix>_<secret>"): finds the row without the secret.
    prefix = models.CharField(max_length=16, unique=True)
    hash = models.CharField(max_length=64)
    created = models.DateTimeField()
    last_used = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-pk"]
        db_table = "api_apitoken"  # created by the api app before the model moved here

    def __str__(self) -> str:
        return f"{self.name} (rct_{self.prefix}_…)"
