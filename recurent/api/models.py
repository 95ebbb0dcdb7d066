"""Idempotency records and webhooks (endpoints and their delivery log). The API tokens are a
company's access, kept with the memberships (companies.ApiToken)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

EVENT_TYPES = (
    "invoice.issued", "invoice.paid", "invoice.overdue", "invoice.cancelled",
    "efactura.accepted", "efactura.rejected",
    "contract.created", "contract.cancelled", "contract.changed",
    "payment.received",
)  # fmt: skip


class IdempotencyKey(models.Model):
    """The first successful answer to a POST sent with an ``Idempotency-Key``.

    The unique constraint ``idempotency_key_once`` is what makes two concurrent requests
    with the same key safe: the second one's insert waits for the first transaction and
    then fails, and api.idempotency answers it with the stored response.
    """

    token = models.ForeignKey("companies.ApiToken", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # sha256 of method, path and body
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    status_code = models.PositiveSmallIntegerField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(default=b"")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "key"], name="idempotency_key_once")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]


class WebhookEndpoint(models.Model):
    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # Signs every delivery (HMAC-SHA256); kept in clear because signing needs it.
    secret = models.CharField(max_length=80)
    events = models.JSONField(_("events"), default=list)
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return event_type in self.events or "*" in self.events


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("pending")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed (gave up)")


class WebhookDelivery(models.Model):
    """One event for one endpoint: queued in the transaction of the event, sent by the worker."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.CharField(max_length=40)
    event_type = models.CharField(max_length=40)
    # The exact bytes sent (and signed), fixed at queue time so that a retry or a replay
    # sends the same body.
    body = models.TextField()
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Retries stop after this instant (3 days after the event, or after a replay).
    give_up_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response = models.TextField(blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="delivery_once")
        ]
        indexes = [
            # The worker's claim query: pending deliveries by due instant.
            models.Index(fields=["state", "next_attempt_at"], name="delivery_due_idx"),
        ]
