"""Webhooks: signed, retried with backoff against a real local HTTP receiver, replayable."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recurent.api import webhooks as wh
from recurent.api.models import DeliveryState, WebhookDelivery
from recurent.common import clock
from recurent.invoices.services import issue_due
from recurent.worker.tasks import TASKS
from tests import factories as f
from tests.factories import local

# Service errors read in English here, as the API and the command line show them.
pytestmark = pytest.mark.usefixtures("english")


class Receiver:
    """An HTTP server on 127.0.0.1 answering from a script of status codes (then 200)."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"try later")

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(statuses=()):
        r = Receiver(statuses)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def _endpoint(world, url, events=("invoice.issued",)):
    return wh.endpoint_create(
        company=world.company, url=url, events=list(events), as_of=clock.now()
    )


def test_the_worker_task_is_registered():
    assert "webhooks" in [name for name, _ in TASKS]


def test_a_failing_receiver_gets_retried_with_backoff_then_accepts(world, receiver):
    r = receiver([500, 503])
    ep = _endpoint(world, r.url)
    f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 1, 31, 10))
    d = WebhookDelivery.objects.get()
    t0 = d.created_at

    assert wh.webhooks_deliver(limit=10, as_of=t0) == 1
    d.refresh_from_db()
    assert (d.state, d.attempts, d.last_status) == (DeliveryState.PENDING, 1, 500)
    assert d.last_response == "try later"
    assert d.next_attempt_at == t0 + wh.BACKOFF_BASE

    assert wh.webhooks_deliver(limit=10, as_of=t0 + wh.BACKOFF_BASE / 2) == 0  # not due yet
    t1 = t0 + wh.BACKOFF_BASE
    assert wh.webhooks_deliver(limit=10, as_of=t1) == 1
    d.refresh_from_db()
    assert (d.attempts, d.last_status, d.next_attempt_at) == (2, 503, t1 + 2 * wh.BACKOFF_BASE)

    t2 = t1 + 2 * wh.BACKOFF_BASE
    assert wh.webhooks_deliver(limit=10, as_of=t2) == 1
    d.refresh_from_db()
    assert (d.state, d.attempts, d.last_status, d.delivered_at) == (
        DeliveryState.DELIVERED,
        3,
        200,
        t2,
    )
    assert wh.webhooks_deliver(limit=10, as_of=t2 + timedelta(days=1)) == 0

    # Every attempt carried the same body, signed with the endpoint's secret at its own time.
    assert len(r.requests) == 3
    bodies = {body for _, body in r.requests}
    assert len(bodies) == 1
    for (headers, body), at in zip(r.requests, (t0, t1, t2), strict=True):
        sig = headers["Recurent-Signature"]
        assert sig.startswith(f"t={int(at.timestamp())},v1=")
        assert wh.verify(ep.secret, sig, body, now=int(at.timestamp()))
        assert not wh.verify("whsec_wrong", sig, body, now=int(at.timestamp()))
        assert not wh.verify(ep.secret, sig, body + b" ", now=int(at.timestamp()))
        assert not wh.verify(ep.secret, sig, body, now=int(at.timestamp()) + 3600)  # replayed late
        assert headers["Recurent-Event-Type"] == "invoice.issued"
    event = json.loads(r.requests[0][1])
    assert event["type"] == "invoice.issued" and event["data"]["number"] == "REC-000001"
    assert event["id"] == r.requests[0][0]["Recurent-Event-Id"]


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body():
    import hashlib
    import hmac

    body = b'{"id":"evt_1"}'
    expected = hmac.new(b"whsec_x", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert wh.sign("whsec_x", 1700000000, body) == f"t=1700000000,v1={expected}"


def test_retries_stop_after_three_days_and_a_replay_sends_again(world, receiver):
    r = receiver([500] * 1000)
    ep = _endpoint(world, r.url)
    f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 1, 31, 10))
    d = WebhookDelivery.objects.get()
    at = d.created_at
    for _ in range(100):
        if wh.webhooks_deliver(limit=10, as_of=at) == 0:
            break
        d.refresh_from_db()
        if d.next_attempt_at is None:
            break
        at = d.next_attempt_at
    d.refresh_from_db()
    assert d.state == DeliveryState.FAILED
    assert d.last_attempt_at <= d.created_at + wh.RETRY_WINDOW
    assert d.last_attempt_at > d.created_at + wh.RETRY_WINDOW - wh.BACKOFF_CAP * 2
    assert 10 < d.attempts < 30  # exponential, capped at 6 h: about 20 attempts in 3 days

    r.statuses.clear()  # the receiver is fixed
    later = d.created_at + timedelta(days=5)
    assert wh.endpoint_replay(endpoint=ep, as_of=later) == 1
    assert wh.webhooks_deliver(limit=10, as_of=later) == 1
    d.refresh_from_db()
    assert d.state == DeliveryState.DELIVERED


def test_a_disabled_endpoint_gets_nothing_until_enabled(world, receiver):
    r = receiver()
    ep = _endpoint(world, r.url)
    f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 1, 31, 10))
    wh.endpoint_update(endpoint=ep, as_of=clock.now(), enabled=False)
    now = clock.now()
    assert wh.webhooks_deliver(limit=10, as_of=now) == 0 and r.requests == []
    wh.endpoint_update(endpoint=ep, as_of=now, enabled=True)
    assert wh.webhooks_deliver(limit=10, as_of=now) == 1 and len(r.requests) == 1


def test_an_unreachable_receiver_is_recorded_and_retried(world):
    ep = _endpoint(world, "http://127.0.0.1:9/nothing-listens-here")
    wh.queue_events([(world.company.pk, "invoice.issued", {"id": 1})])
    now = clock.now()
    assert wh.webhooks_deliver(limit=10, as_of=now) == 1
    d = WebhookDelivery.objects.get(endpoint=ep)
    assert d.state == DeliveryState.PENDING and d.last_status is None and d.last_error


def test_invoice_issued_costs_one_query_per_batch_whatever_its_size(world):
    _endpoint(world, "http://127.0.0.1:9/x")
    for _ in range(5):
        f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    invoices = []
    from recurent.invoices import services as billing

    billing.AFTER_ISSUE.insert(0, invoices.extend)
    try:
        issue_due(as_of=local(2026, 1, 31, 10))
    finally:
        billing.AFTER_ISSUE.remove(invoices.extend)
    assert len(invoices) == 5
    with CaptureQueriesContext(connection) as q:
        wh.after_issue(invoices)
    assert len(q.captured_queries) == 2  # the endpoints, one bulk insert
    assert WebhookDelivery.objects.filter(event_type="invoice.issued").count() == 10


def test_endpoints_only_get_events_of_their_company_they_subscribed_to(world):
    other, _, _ = f.setup_company()
    mine = _endpoint(world, "http://127.0.0.1:9/a", events=["payment.received"])
    wh.endpoint_create(company=other, url="http://127.0.0.1:9/b", events=["*"], as_of=clock.now())
    from recurent.common import events

    events.emit(world.company.pk, "payment.received", {"payment_id": 1})
    events.emit(world.company.pk, "invoice.paid", {"invoice_id": 1})
    assert list(WebhookDelivery.objects.values_list("endpoint_id", "event_type")) == [
        (mine.pk, "payment.received")
    ]


def test_webhook_api_log_replay_and_retry(world, admin_api, receiver):
    r = receiver([500])
    ep = admin_api.post(
        "/webhooks/endpoints", {"url": r.url, "events": ["payment.received"]}
    ).json()
    wh.queue_events([(world.company.pk, "payment.received", {"payment_id": 7})])
    wh.webhooks_deliver(limit=10, as_of=clock.now())
    log = admin_api.get("/webhooks/deliveries", {"endpoint_id": ep["id"]}).json()
    assert log["items"][0]["last_status"] == 500 and log["items"][0]["last_response"] == "try later"
    did = log["items"][0]["id"]
    assert json.loads(admin_api.get(f"/webhooks/deliveries/{did}").json()["body"])["data"] == {
        "payment_id": 7
    }
    assert admin_api.post(f"/webhooks/deliveries/{did}/retry").json()["state"] == "pending"
    wh.webhooks_deliver(limit=10, as_of=clock.now())
    assert admin_api.get(f"/webhooks/deliveries/{did}").json()["state"] == "delivered"
    r2 = admin_api.patch(f"/webhooks/endpoints/{ep['id']}", {"enabled": False}).json()
    assert r2["enabled"] is False
    assert admin_api.post(f"/webhooks/endpoints/{ep['id']}/replay", {}).json() == {"requeued": 0}
    bad = admin_api.post("/webhooks/endpoints", {"url": "ftp://x", "events": ["invoice.issued"]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "url"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",  # a cloud metadata service
        "http://[::1]/hook",
    ],
)
def test_webhooks_refuse_addresses_inside_the_servers_network(world, settings, url):
    from django.core.exceptions import ValidationError

    from recurent.api.webhooks import _post, endpoint_create
    from recurent.common import clock

    settings.RECURENT_WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(ValidationError) as e:
        endpoint_create(
            company=world.company, url=url, events=["invoice.issued"], as_of=clock.now()
        )
    assert "not public" in e.value.message_dict["url"][0]
    # And again at delivery time (a name can resolve elsewhere later): nothing is sent.
    status, _, error = _post(url, b"{}", {})
    assert status is None and "not public" in error
