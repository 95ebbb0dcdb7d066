"""Online payments: the company's provider accounts, hosted-payment sessions, the client's card
agreements (automatic collection by prior agreement), the charge outbox and the provider's
notifications.

No card number ever reaches Recurent: the client types it on the provider's hosted page, and
what comes back is the provider's token (Stripe payment method and customer, NETOPIA token),
the brand, the last four digits and the expiry. Money received becomes an ordinary
``payments.Payment`` through ``payments.services``: nothing here allocates by itself.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from recurent.common.models import TimeStamped


class Provider(models.TextChoices):
    STRIPE = "stripe", "Stripe"
    NETOPIA = "netopia", "NETOPIA Payments"


class GatewayAccount(TimeStamped):
    """A company's account at one provider. Secrets are stored encrypted (``mail.crypto``)."""

    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="gateway_accounts"
    )
    provider = models.CharField(_("provider"), max_length=10, choices=Provider.choices)
    enabled = models.BooleanField(_("enabled"), default=True)
    test_mode = models.BooleanField(_("test mode"), default=True)
    # Blank: the provider's own address for the mode. Set: a proxy, or a local stand-in in tests.
    api_base = models.URLField(_("API address"), blank=True)
    secret_encrypted = models.TextField(blank=True)  # Stripe secret key / NETOPIA API key
    webhook_secret_encrypted = models.TextField(blank=True)  # Stripe whsec_ (signing secret)
    pos_signature = models.CharField(_("NETOPIA POS signature"), max_length=100, blank=True)
    public_key = models.TextField(_("NETOPIA public key (PEM)"), blank=True)
    # Days after the first declined automatic charge on which it is tried again, e.g. "3,5,7".
    retry_days = models.CharField(_("retry a declined charge after (days)"), max_length=40,
                                  default="3,5,7")  # fmt: skip

    class Meta:
        ordering = ["provider"]
        constraints = [
            # gateways.services.account_save updates the one row of a (company, provider).
            models.UniqueConstraint(fields=["company", "provider"], name="gateway_account_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} ({'test' if self.test_mode else 'live'})"


class PaySession(models.Model):
    """One hosted payment started from a pay link: what was asked, to check the answer against."""

    account = models.ForeignKey(GatewayAccount, on_delete=models.PROTECT, related_name="+")
    # The invoice paid, or (proforma_pay) the proforma: one of the two.
    invoice = models.ForeignKey(
        "invoices.Invoice", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    proforma = models.ForeignKey(
        "invoices.InvoiceDraft", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    reference = models.CharField(max_length=64, unique=True)  # our order id at the provider
    provider_ref = models.CharField(max_length=120, blank=True)  # checkout session id / ntpID
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    currency = models.CharField(max_length=3)
    save_card = models.BooleanField(default=False)
    # The agreement as the client gave it on the pay page (kept when the card is saved).
    consent_text = models.TextField(blank=True)
    consent_name = models.CharField(max_length=200, blank=True)
    consent_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(invoice__isnull=False, proforma__isnull=True)
                | models.Q(invoice__isnull=True, proforma__isnull=False),
                name="gateway_session_one_target",
            ),
        ]


class AgreementStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    WITHDRAWN = "withdrawn", _("withdrawn")


class CardAgreement(TimeStamped):
    """The client's prior agreement to have a contract's invoices charged to a saved card."""

    company = models.ForeignKey("companies.Company", on_delete=models.CASCADE, related_name="+")
    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="card_agreements"
    )
    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(GatewayAccount, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=10, choices=AgreementStatus.choices, default=AgreementStatus.ACTIVE
    )
    consent_text = models.TextField()
    consented_at = models.DateTimeField()
    consent_ip = models.GenericIPAddressField(null=True, blank=True)
    client_name = models.CharField(max_length=200)
    customer_ref = models.CharField(max_length=120, blank=True)  # Stripe customer id
    token_encrypted = models.TextField()  # Stripe payment method id / NETOPIA card token
    brand = models.CharField(max_length=20, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_ip = models.GenericIPAddressField(null=True, blank=True)
    expiry_notice_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-consented_at", "-pk"]
        constraints = [
            # services._agreement_from_session withdraws the previous card before saving a new one.
            models.UniqueConstraint(
                fields=["contract"],
                condition=models.Q(status="active"),
                name="one_active_card_per_contract",
            ),
        ]


class ChargeState(models.TextChoices):
    READY = "ready", _("to charge")
    STARTED = "started", _("charging")
    SUCCEEDED = "succeeded", _("collected")
    NEEDS_ACTION = "needs_action", _("waiting for the cardholder (3-D Secure)")
    DECLINED = "declined", _("declined")
    CANCELLED = "cancelled", _("not needed")


class ChargeAttempt(models.Model):
    """The outbox of automatic charges: written as an intent when the invoice is issued (READY),
    marked STARTED before the provider is called, finished after. The idempotency key is fixed
    per (invoice, attempt): calling again after a crash asks for the same charge, never a new one.
    """

    company = models.ForeignKey("companies.Company", on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey("invoices.Invoice", on_delete=models.PROTECT, related_name="+")
    agreement = models.ForeignKey(CardAgreement, on_delete=models.PROTECT, related_name="charges")
    attempt = models.PositiveSmallIntegerField(default=1)
    state = models.CharField(max_length=12, choices=ChargeState.choices, default=ChargeState.READY)
    not_before = models.DateTimeField()
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    currency = models.CharField(max_length=3)
    idempotency_key = models.CharField(max_length=80, unique=True)
    provider_ref = models.CharField(max_length=120, blank=True)
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            # One row per try: a retry is a new attempt with its own key (services._schedule_retry).
            models.UniqueConstraint(fields=["invoice", "attempt"], name="charge_attempt_once"),
        ]
        indexes = [models.Index(fields=["state", "not_before"], name="charge_due")]


class EventOutcome(models.TextChoices):
    RECORDED = "recorded", _("payment recorded")
    DUPLICATE = "duplicate", _("already recorded")
    FLAGGED = "flagged", _("to check by a person")
    REVERSED = "reversed", _("refund: payment reversed")
    FAILED = "failed", _("payment failed")
    IGNORED = "ignored", _("nothing to do")


class GatewayEvent(models.Model):
    """A verified notification, recorded once: the provider's event id is unique per account."""

    account = models.ForeignKey(GatewayAccount, on_delete=models.CASCADE, related_name="events")
    event_id = models.CharField(max_length=120)
    kind = models.CharField(max_length=60)
    provider_ref = models.CharField(max_length=120, blank=True)  # the payment it is about
    received_at = models.DateTimeField()
    payload = models.JSONField(default=dict)
    invoice = models.ForeignKey(
        "invoices.Invoice", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(max_length=10, choices=EventOutcome.choices)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            # services.notification_handle relies on it: a resent event is answered, not redone.
            models.UniqueConstraint(fields=["account", "event_id"], name="gateway_event_once"),
        ]
        # A refund that arrives before its payment is found again when the payment arrives.
        indexes = [models.Index(fields=["account", "provider_ref"], name="gateway_event_payment")]


class GatewayPayment(models.Model):
    """A provider's payment turned into a Recurent payment, once whichever event announced it."""

    account = models.ForeignKey(GatewayAccount, on_delete=models.PROTECT, related_name="+")
    provider_ref = models.CharField(max_length=120)  # PaymentIntent id / ntpID
    payment = models.OneToOneField(
        "payments.Payment", on_delete=models.PROTECT, related_name="gateway"
    )
    # Empty for a proforma's payment until the payments cover it and its invoice is issued.
    invoice = models.ForeignKey(
        "invoices.Invoice", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    proforma = models.ForeignKey(
        "invoices.InvoiceDraft", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    automatic = models.BooleanField(default=False)
    flag = models.CharField(max_length=300, blank=True)  # a difference a person must look at
    refunded = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # services._settle relies on it: two events for one payment record it once.
            models.UniqueConstraint(
                fields=["account", "provider_ref"], name="gateway_payment_once"
            ),
        ]
