"""Payments through the API: record with allocations, allocate the rest, reverse."""

from recurent.api.models import WebhookDelivery
from recurent.api.webhooks import endpoint_create
from recurent.common import clock
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local


def test_record_allocate_and_reverse_a_payment(world, admin_api, viewer_api):
    endpoint_create(
        company=world.company, url="http://127.0.0.1:9/x", events=["*"], as_of=clock.now()
    )
    c = f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 3, 1, 12))  # two invoices of 121.00
    inv1, inv2 = Invoice.objects.order_by("number")
    body = {
        "client_id": c.client_id,
        "date": "2026-03-02",
        "amount": "200.00",
        "allocations": [{"invoice_id": inv1.pk, "amount": "121.00"}],
    }
    assert viewer_api.post("/payments", body).status_code == 403
    r = admin_api.post("/payments", body, headers={"Idempotency-Key": "pay-1"})
    assert r.status_code == 201, r.content
    p = r.json()
    assert p["unallocated"] in ("79.00", "79") and len(p["allocations"]) == 1
    assert admin_api.post("/payments", body, headers={"Idempotency-Key": "pay-1"}).json() == p

    too_much = admin_api.post(
        f"/payments/{p['id']}/allocate", {"allocations": [{"invoice_id": inv2.pk, "amount": "100"}]}
    )
    assert too_much.status_code == 422
    r = admin_api.post(
        f"/payments/{p['id']}/allocate", {"allocations": [{"invoice_id": inv2.pk, "amount": "79"}]}
    )
    assert r.status_code == 200 and r.json()["unallocated"] in ("0.00", "0")

    r = admin_api.post(f"/payments/{p['id']}/reverse", {"reason": "bank return"})
    assert r.json()["reversed"] is True
    assert admin_api.post(f"/payments/{p['id']}/reverse", {"reason": "again"}).status_code == 422
    assert admin_api.get("/payments", {"reversed": True}).json()["count"] == 1

    types = set(WebhookDelivery.objects.values_list("event_type", flat=True))
    assert {"payment.received", "invoice.paid", "invoice.issued"} <= types


def test_a_payment_for_another_companys_client_is_refused(world, admin_api):
    other, _, _ = f.setup_company()
    theirs = f.client(other)
    r = admin_api.post("/payments", {"client_id": theirs.pk, "date": "2026-03-02", "amount": "10"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "client_id"
