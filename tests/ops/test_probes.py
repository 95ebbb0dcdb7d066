"""/healthz, /readyz and /metrics: what a container runtime, a proxy and Prometheus ask."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from django.test import override_settings

from recurent.common import clock
from recurent.mail.models import OutboxMessage
from recurent.ops.logs import JsonFormatter, RedactingFormatter, redact
from recurent.ops.models import WorkerHeartbeat
from recurent.worker.management.commands.worker import run_loop
from tests import factories as f


def test_healthz_answers_without_the_database(client):
    # No db fixture: pytest-django refuses any query, so this passes only if none is made.
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_readyz_wants_a_living_worker(db, client, monkeypatch):
    r = client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["checks"]["database"]["ok"] and body["checks"]["migrations"]["ok"]
    assert body["checks"]["worker"] == {"ok": False, "last_beat_seconds": None}
    # One pass of the worker loop beats (its connection kept: it is the test's transaction).
    from recurent.worker.management.commands import worker

    monkeypatch.setattr(worker, "close_old_connections", lambda: None)
    monkeypatch.setattr(worker.connection, "close", lambda: None)
    run_loop(stop=threading.Event(), batch_size=10, max_sleep=1, once=True, tasks=False)
    beat = WorkerHeartbeat.objects.get()
    assert beat.passes == 1 and beat.stopped_at is not None  # the loop ended: it says so
    WorkerHeartbeat.objects.update(stopped_at=None)
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["ready"] is True
    WorkerHeartbeat.objects.update(beat_at=clock.now() - timedelta(hours=1))
    assert client.get("/readyz").status_code == 503


def test_readyz_reports_a_stuck_outbox(world, client):
    WorkerHeartbeat.objects.create(
        name="h:1", host="h", pid=1, started_at=clock.now(), beat_at=clock.now()
    )
    from recurent.mail.services import notice_queue

    notice_queue(company=world.company, to=["a@example.ro"], subject="s", body_text="b",
                 as_of=clock.now() - timedelta(hours=3))  # fmt: skip
    OutboxMessage.objects.update(not_before=clock.now() - timedelta(hours=3))
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["outbox"]["ok"] is False


def test_metrics_from_loopback_or_with_the_token_only(world, client):
    f.contract(world.company, issuer=world.user)
    from recurent.invoices.services import issue_due
    from tests.factories import local

    issue_due(as_of=local(2026, 1, 31, 10), company_id=world.company.pk)
    r = client.get("/metrics")
    assert r.status_code == 200
    text = r.content.decode()
    assert 'recurent_invoices{kind="invoice"} 1.0' in text
    assert 'recurent_contracts{hold="none",status="active"} 1.0' in text
    assert "recurent_outbox_oldest_due_seconds" in text
    assert "recurent_efactura_oldest_waiting_seconds" in text
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    with override_settings(RECURENT_METRICS_TOKEN="s3cret-token-for-prometheus"):
        assert client.get("/metrics").status_code == 403
        ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token-for-prometheus",
                        REMOTE_ADDR="203.0.113.9")  # fmt: skip
        assert ok.status_code == 200


@pytest.mark.parametrize(
    ("line", "leaked"),
    [
        ("paid from RO49AAAA1B31007593840000 today", "1B31007593840000"),
        ("paid from RO49 AAAA 1B31 0075 9384 0000 today", "1B31 0075 9384"),
        ("client CNP 1960518123451 asked", "1960518123451"),
        ("token rct_abcDEF123456789xyz leaked", "abcDEF123456789xyz"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc", "eyJhbGciOiJIUzI1NiJ9"),
        ("smtp login password=hunter2hunter2 refused", "hunter2hunter2"),
    ],
)
def test_personal_and_secret_values_are_masked(line, leaked):
    assert leaked not in redact(line)
    record = logging.LogRecord("recurent.x", logging.INFO, __file__, 1, "%s", (line,), None)
    record.invoice_id = 42
    assert leaked not in RedactingFormatter("%(message)s").format(record)
    out = JsonFormatter().format(record)
    assert leaked not in out and '"invoice_id": 42' in out


def test_amounts_and_dates_are_not_mistaken_for_personal_numbers():
    assert redact("issued 1000 invoices in 12.5 s, total 1234567.89 RON on 2026-12-02") == (
        "issued 1000 invoices in 12.5 s, total 1234567.89 RON on 2026-12-02"
    )


def test_the_dashboard_shows_each_worker_and_says_when_none_runs(world, client):
    client.force_login(world.user)
    page = client.get("/").content.decode()
    assert "Niciun proces de facturare nu a rulat" in page
    now = clock.now()
    WorkerHeartbeat.objects.create(name="billing-1:4242", host="billing-1", pid=4242,
                                   started_at=now, beat_at=now, issued=1500)  # fmt: skip
    WorkerHeartbeat.objects.create(name="billing-2:77", host="billing-2", pid=77, started_at=now,
                                   beat_at=now - timedelta(hours=2))  # fmt: skip
    page = client.get("/").content.decode()
    assert "billing-1:4242" in page and "rulează" in page and "1500" in page
    assert "billing-2:77" in page and "nu mai răspunde" in page
