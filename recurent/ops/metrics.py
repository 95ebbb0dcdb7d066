"""Prometheus metrics at ``/metrics``, computed from the database at scrape time.

The figures are the database's, not one process's counters, so any web process answers for the
whole installation (several workers on several machines included). A scrape runs a dozen small
aggregate queries on indexed columns.

Access: with ``RECURENT_METRICS_TOKEN`` set, a scrape must send ``Authorization: Bearer <token>``;
without it, only the loopback address may scrape (a proxy in front answers for the rest).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Min
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from recurent.common import clock

LOOPBACK = {"127.0.0.1", "::1"}


class RecurentCollector:
    def collect(self) -> Iterator[Any]:
        from recurent.contracts.models import Contract
        from recurent.efactura.models import Attempt, EfacturaState, EState
        from recurent.invoices.models import BillingRun, Invoice
        from recurent.mail.models import OutboxMessage, OutboxState
        from recurent.ops.models import WorkerHeartbeat

        now = clock.now()
        g = GaugeMetricFamily(
            "recurent_invoices", "Invoices and credit notes issued", labels=["kind"]
        )
        for kind, n in Invoice.objects.values_list("kind").annotate(n=Count("pk")).order_by():
            g.add_metric([kind], n)
        yield g

        g = GaugeMetricFamily(
            "recurent_contracts", "Contracts by status and hold kind", labels=["status", "hold"]
        )
        for status, hold, n in (
            Contract.objects.values_list("status", "hold_kind").annotate(n=Count("pk")).order_by()
        ):
            g.add_metric([status, hold or "none"], n)
        yield g

        depth = GaugeMetricFamily(
            "recurent_outbox_messages", "Mail outbox by state", labels=["state"]
        )
        for state, n in (
            OutboxMessage.objects.values_list("state").annotate(n=Count("pk")).order_by()
        ):
            depth.add_metric([state], n)
        yield depth
        oldest = OutboxMessage.objects.filter(
            state=OutboxState.PENDING, not_before__lte=now
        ).aggregate(m=Min("not_before"))["m"]
        yield GaugeMetricFamily(
            "recurent_outbox_oldest_due_seconds",
            "Age of the oldest message due and not sent",
            value=(now - oldest).total_seconds() if oldest else 0,
        )

        ef = GaugeMetricFamily("recurent_efactura_invoices", "e-Factura state", labels=["state"])
        for state, n in (
            EfacturaState.objects.values_list("state").annotate(n=Count("pk")).order_by()
        ):
            ef.add_metric([state], n)
        yield ef
        queued = EfacturaState.objects.filter(
            state__in=[EState.QUEUED, EState.UPLOADING, EState.UPLOADED]
        ).aggregate(m=Min("queued_at"))["m"]
        yield GaugeMetricFamily(
            "recurent_efactura_oldest_waiting_seconds",
            "Age of the oldest invoice queued for or waiting on ANAF",
            value=(now - queued).total_seconds() if queued else 0,
        )
        errors = GaugeMetricFamily(
            "recurent_errors_last_hour", "Failed calls to outside services", labels=["service"]
        )
        hour = now - timedelta(hours=1)
        errors.add_metric(
            ["anaf"],
            Attempt.objects.filter(started_at__gte=hour).exclude(outcome__in=["ok", ""]).count(),
        )
        errors.add_metric(
            ["smtp"],
            OutboxMessage.objects.filter(
                state__in=[OutboxState.FAILED, OutboxState.UNKNOWN], queued_at__gte=hour
            ).count(),
        )
        from recurent.gateways.models import ChargeAttempt, ChargeState

        errors.add_metric(
            ["payments"],
            ChargeAttempt.objects.filter(finished_at__gte=hour, state=ChargeState.DECLINED).count(),
        )
        yield errors

        run = (
            BillingRun.objects.filter(dry_run=False, finished_at__isnull=False)
            .order_by("-finished_at")
            .values("started_at", "finished_at", "issued")
            .first()
        )
        yield GaugeMetricFamily(
            "recurent_last_run_seconds",
            "Duration of the last finished billing run",
            value=(run["finished_at"] - run["started_at"]).total_seconds()
            if run and run["finished_at"]
            else 0,
        )
        yield GaugeMetricFamily(
            "recurent_last_run_issued", "Invoices issued by the last finished billing run",
            value=run["issued"] if run else 0,
        )  # fmt: skip
        beat = WorkerHeartbeat.objects.filter(stopped_at=None).aggregate(m=Max("beat_at"))["m"]
        yield GaugeMetricFamily(
            "recurent_worker_last_beat_seconds", "Seconds since the last worker heartbeat",
            value=(now - beat).total_seconds() if beat else -1,
        )  # fmt: skip
        yield GaugeMetricFamily(
            "recurent_workers_alive", "Workers that beat in the last 10 minutes",
            value=WorkerHeartbeat.objects.filter(
                stopped_at=None, beat_at__gte=now - timedelta(minutes=10)).count(),
        )  # fmt: skip


def _allowed(request: HttpRequest) -> bool:
    token = getattr(settings, "RECURENT_METRICS_TOKEN", "")
    if token:
        sent = request.headers.get("Authorization", "")
        return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
    return request.META.get("REMOTE_ADDR") in LOOPBACK


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse(
            "metrics: not allowed from here\n", status=403, content_type="text/plain"
        )
    registry = CollectorRegistry()
    registry.register(RecurentCollector())  # type: ignore[arg-type]
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
