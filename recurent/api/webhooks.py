"""Webhooks: queue a delivery per subscribed endpoint in the transaction of the event,
sign it, and let the worker deliver it with exponential backoff for up to three days.

Signature (documented in docs/api.md): header ``Recurent-Signature: t=<unix seconds>,v1=<hex>``
where ``v1 = HMAC-SHA256(secret, f"{t}.{body}")``. The timestamp is in the signed text so a
captured request cannot be replayed later; receivers reject ``t`` older than 5 minutes.

Delivery is at least once (a crash after the receiver answered but before we recorded it
sends again): receivers deduplicate on ``Recurent-Event-Id``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.utils.translation import gettext_lazy

from recurent.common import clock, hosts
from recurent.common.errors import field_error
from recurent.companies.models import Company

from .models import EVENT_TYPES, DeliveryState, WebhookDelivery, WebhookEndpoint

log = logging.getLogger("recurent.webhooks")

SIGNATURE_HEADER = "Recurent-Signature"
RETRY_WINDOW = timedelta(days=3)
# First retry after BACKOFF_BASE, doubling up to BACKOFF_CAP: 1 min, 2, 4 … 6 h, for 3 days.
BACKOFF_BASE = timedelta(seconds=getattr(settings, "RECURENT_WEBHOOK_BACKOFF_BASE", 60))
BACKOFF_CAP = timedelta(hours=6)
TIMEOUT = getattr(settings, "RECURENT_WEBHOOK_TIMEOUT", 10)
# A delivery being sent is not offered to another worker for this long (a crash mid-send
# makes it due again after the lease, hence "at least once").
LEASE = timedelta(minutes=5)
KEEP_RESPONSE = 2000


# --- signing -------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: str | bytes) -> str:
    raw = body.encode() if isinstance(body, str) else body
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """What a receiver does (the same code is in docs/api.md)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - t) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


# --- endpoints (services) ------------------------------------------------------------------


def _clean_events(events: Sequence[str]) -> list[str]:
    events = list(dict.fromkeys(events))
    unknown = [e for e in events if e not in EVENT_TYPES and e != "*"]
    if unknown:
        raise field_error(
            "events",
            gettext_lazy("unknown event %(value)s; expected %(value2)s or *"),
            "unknown_event",
            value=repr(unknown[0]),
            value2=", ".join(EVENT_TYPES),
        )
    if not events:
        raise field_error("events", gettext_lazy("subscribe to at least one event"), "required")
    return events


def _private_address(url: str) -> str | None:
    """The first non-public address the URL's host resolves to, or None when all are public.

    The policy (and the setting for closed installations) is ``recurent.common.hosts``; checked
    when an endpoint is saved and again before each delivery (DNS can change).
    """
    return hosts.non_public_address(urllib.parse.urlsplit(url).hostname or "")


def _clean_url(url: str) -> str:
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise field_error(
            "url", gettext_lazy("an http:// or https:// address"), "invalid_url"
        ) from None
    if len(url) > 500:
        raise field_error("url", gettext_lazy("at most 500 characters"), "max_length")
    blocked = _private_address(url)
    if blocked:
        raise field_error(
            "url",
            gettext_lazy(
                "refused: the address is not public (%(blocked)s); webhooks go to the internet only"
            ),
            "host_not_public",
            blocked=blocked,
        )
    return url


def endpoint_create(
    *,
    company: Company,
    url: str,
    events: Sequence[str],
    description: str = "",
    as_of: datetime,
) -> WebhookEndpoint:
    if len(description) > 200:
        raise field_error("description", gettext_lazy("at most 200 characters"), "max_length")
    return WebhookEndpoint.objects.create(
        company=company,
        url=_clean_url(url),
        events=_clean_events(events),
        description=description,
        secret="whsec_" + secrets.token_urlsafe(32),
        created_at=as_of,
        updated_at=as_of,
    )


def endpoint_update(
    *, endpoint: WebhookEndpoint, as_of: datetime, **fields: Any
) -> WebhookEndpoint:
    if "url" in fields:
        endpoint.url = _clean_url(fields.pop("url"))
    if "events" in fields:
        endpoint.events = _clean_events(fields.pop("events"))
    if "description" in fields:
        d = fields.pop("description") or ""
        if len(d) > 200:
            raise field_error("description", gettext_lazy("at most 200 characters"), "max_length")
        endpoint.description = d
    if "enabled" in fields:
        endpoint.enabled = bool(fields.pop("enabled"))
    if fields:
        raise field_error(
            next(iter(fields)), gettext_lazy("this field cannot be changed"), "not_changeable"
        )
    endpoint.updated_at = as_of
    endpoint.save()
    return endpoint


def endpoint_replay(
    *, endpoint: WebhookEndpoint, as_of: datetime, since: datetime | None = None
) -> int:
    """Send again the deliveries that were given up on (since ``since``), with a new window."""
    qs = WebhookDelivery.objects.filter(endpoint=endpoint, state=DeliveryState.FAILED)
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    return qs.update(
        state=DeliveryState.PENDING, next_attempt_at=as_of, give_up_at=as_of + RETRY_WINDOW
    )


def delivery_retry(*, delivery: WebhookDelivery, as_of: datetime) -> WebhookDelivery:
    """Send one delivery again now, whatever its state (a receiver lost it, say)."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.PENDING, next_attempt_at=as_of, give_up_at=as_of + RETRY_WINDOW
    )
    delivery.refresh_from_db()
    return delivery


# --- queueing (inside the caller's transaction) ----------------------------------------------


def _json(v: Any) -> Any:
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


def _body(event_id: str, event_type: str, company_id: int, created: datetime, data: Any) -> str:
    return json.dumps(
        {
            "id": event_id,
            "type": event_type,
            "created": created.isoformat(),
            "company_id": company_id,
            "data": data,
        },
        default=_json,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def queue_events(events: Iterable[tuple[int, str, dict[str, Any]]]) -> int:
    """Queue (company id, event type, data) for every enabled endpoint that wants it.

    Two queries whatever the number of events: the endpoints of the companies involved, and
    one bulk insert.
    """
    events = list(events)
    if not events:
        return 0
    companies = {c for c, _, _ in events}
    endpoints: dict[int, list[WebhookEndpoint]] = {}
    for ep in WebhookEndpoint.objects.filter(company_id__in=companies, enabled=True):
        endpoints.setdefault(ep.company_id, []).append(ep)
    if not endpoints:
        return 0
    now = clock.now()
    rows: list[WebhookDelivery] = []
    for company_id, event_type, data in events:
        wanting = [ep for ep in endpoints.get(company_id, []) if ep.wants(event_type)]
        if not wanting:
            continue
        event_id = "evt_" + uuid.uuid4().hex
        body = _body(event_id, event_type, company_id, now, data)
        rows.extend(
            WebhookDelivery(
                endpoint=ep,
                event_id=event_id,
                event_type=event_type,
                body=body,
                created_at=now,
                next_attempt_at=now,
                give_up_at=now + RETRY_WINDOW,
            )
            for ep in wanting
        )
    WebhookDelivery.objects.bulk_create(rows)
    return len(rows)


def on_event(company_id: int, event_type: str, payload: dict[str, Any]) -> None:
    """recurent.common.events listener."""
    queue_events([(company_id, event_type, payload)])


on_event.many = queue_events  # type: ignore[attr-defined]  # events.emit_many: one batch


def invoice_payload(inv: Any) -> dict[str, Any]:
    """What an invoice event says; read from the in-memory row (no query)."""
    return {
        "id": inv.pk,
        "number": inv.full_number,
        "kind": inv.kind,
        "status": inv.status,
        "client_id": inv.client_id,
        "contract_id": inv.contract_id,
        "issued_at": inv.issued_at,
        "issue_date": inv.issue_date,
        "due_date": inv.due_date,
        "period_start": inv.period_start,
        "period_end": inv.period_end,
        "currency": inv.currency,
        "net_total": str(inv.net_total),
        "vat_total": str(inv.vat_total),
        "gross_total": str(inv.gross_total),
    }


def after_issue(invoices: list[Any]) -> None:
    """recurent.invoices.services.AFTER_ISSUE hook: invoice.issued for a whole batch at once."""
    queue_events((inv.company_id, "invoice.issued", invoice_payload(inv)) for inv in invoices)


# --- delivering (worker task) ---------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failed attempt."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect is an answer, not a delivery: following it would resend to an address the
    # company never registered.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str, str]:
    """(status, response text, error) of one attempt."""
    blocked = _private_address(url)
    if blocked:
        return None, "", f"refused: the address is not public ({blocked})"
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener.open(req, timeout=TIMEOUT) as resp:
            return resp.status, resp.read(KEEP_RESPONSE).decode("utf-8", "replace"), ""
    except urllib.error.HTTPError as e:
        text = e.read(KEEP_RESPONSE).decode("utf-8", "replace") if e.fp else ""
        return e.code, text, f"HTTP {e.code}"
    except Exception as e:  # network errors of every kind: the delivery is retried
        return None, "", f"{type(e).__name__}: {e}"[:500]


def _claim(as_of: datetime) -> WebhookDelivery | None:
    with transaction.atomic():
        qs = (
            WebhookDelivery.objects.filter(
                state=DeliveryState.PENDING, next_attempt_at__lte=as_of, endpoint__enabled=True
            )
            .select_related("endpoint")
            .order_by("next_attempt_at", "pk")
        )
        if connection.features.has_select_for_update_skip_locked:
            # Several workers take different deliveries instead of waiting on each other.
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        d = qs.first()
        if d is None:
            return None
        d.attempts += 1
        d.next_attempt_at = as_of + LEASE
        d.last_attempt_at = as_of
        d.save(update_fields=["attempts", "next_attempt_at", "last_attempt_at"])
        return d


def deliver_one(d: WebhookDelivery, *, as_of: datetime) -> bool:
    """Send one claimed delivery (outside any transaction) and record what came back."""
    ts = int(as_of.timestamp())
    body = d.body.encode()
    status, text, error = _post(
        d.endpoint.url,
        body,
        {
            "Content-Type": "application/json",
            "User-Agent": "Recurent-Webhooks/1",
            SIGNATURE_HEADER: sign(d.endpoint.secret, ts, body),
            "Recurent-Event-Id": d.event_id,
            "Recurent-Event-Type": d.event_type,
            "Recurent-Delivery-Attempt": str(d.attempts),
        },
    )
    ok = status is not None and 200 <= status < 300
    update: dict[str, Any] = {"last_status": status, "last_response": text, "last_error": error}
    if ok:
        update.update(state=DeliveryState.DELIVERED, delivered_at=as_of, next_attempt_at=None)
    else:
        nxt = as_of + backoff(d.attempts)
        if nxt > d.give_up_at:
            update.update(state=DeliveryState.FAILED, next_attempt_at=None)
        else:
            update.update(next_attempt_at=nxt)
    WebhookDelivery.objects.filter(pk=d.pk).update(**update)
    for k, v in update.items():
        setattr(d, k, v)
    if not ok:
        log.info("webhook %s to %s failed: %s", d.event_id, d.endpoint.url, error or status)
    return ok


def webhooks_deliver(*, limit: int = 100, as_of: datetime | None = None) -> int:
    """Deliver up to ``limit`` due webhooks; returns how many were attempted."""
    done = 0
    while done < limit:
        now = as_of or clock.now()
        d = _claim(now)
        if d is None:
            break
        deliver_one(d, as_of=now)
        done += 1
    return done
