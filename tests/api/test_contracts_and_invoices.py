"""Contracts through the API, invoices issued by the real engine, read back through the API."""

from datetime import timedelta

from recurent.api.models import WebhookDelivery
from recurent.common import clock
from recurent.contracts.models import Contract, ContractChange
from recurent.documents.services import invoice_render
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local


def _contract_body(world, client_id, product_id, **kw):
    body = {
        "client_id": client_id,
        "number": "CTR-1",
        "signed_on": "2026-01-01",
        "first_issue_at": local(2026, 1, 31).isoformat(),
        "lines": [{"product_id": product_id, "quantity": "2"}],
        "activate": True,
    }
    body.update(kw)
    return body


def test_a_contract_created_through_the_api_is_billed_by_the_engine(world, admin_api):
    p = admin_api.post(
        "/products", {"code": "NET", "name": "Internet", "unit_price": "50", "unit_code": "MON"}
    ).json()
    c = admin_api.post(
        "/clients",
        {
            "name": "Client SRL",
            "tax_id": "RO14399840",
            "street": "Str. A 1",
            "city": "Cluj-Napoca",
            "county": "CJ",
        },
    ).json()
    r = admin_api.post("/contracts", _contract_body(world, c["id"], p["id"]))
    assert r.status_code == 201, r.content
    contract = r.json()
    assert contract["status"] == "active" and contract["issuer_id"] == world.user.pk
    assert contract["lines"][0]["quantity"] in ("2.0000", "2")
    assert ContractChange.objects.filter(
        contract_id=contract["id"], action="created", user=world.user
    ).exists()

    issue_due(as_of=local(2026, 3, 1, 12))  # Jan 31 and Feb 28
    page = admin_api.get("/invoices", {"ordering": "number"}).json()
    assert page["count"] == 2
    assert [i["full_number"] for i in page["items"]] == ["REC-000001", "REC-000002"]
    one = admin_api.get(f"/invoices/{page['items'][0]['id']}").json()
    assert one["gross_total"] in ("121.00", "121") and one["lines"][0]["quantity"] in (
        "2.0000",
        "2",
    )

    assert admin_api.get("/invoices", {"series": "REC", "status": "issued"}).json()["count"] == 2
    assert admin_api.get("/invoices", {"series": "NOPE"}).json()["count"] == 0
    assert (
        admin_api.get("/invoices", {"client_id": c["id"], "issued_from": "2026-03-01"}).json()[
            "count"
        ]
        == 2
    )
    assert admin_api.get("/invoices", {"issued_to": "2026-02-28"}).json()["count"] == 0
    paged = admin_api.get("/invoices", {"limit": 1, "offset": 1, "ordering": "-number"}).json()
    assert paged["count"] == 2 and [i["number"] for i in paged["items"]] == [1]

    sched = admin_api.get(f"/contracts/{contract['id']}/schedule", {"count": 4}).json()
    assert [p["invoiced"] for p in sched["periods"]] == [True, True, False, False]
    assert sched["periods"][2]["period_start"] == "2026-03-31"


def test_contract_actions_pause_resume_cancel_and_change_lines(world, admin_api):
    c = f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    p2 = f.product(world.company, unit_price="10")
    base = f"/contracts/{c.pk}"
    assert admin_api.post(f"{base}/pause").json()["status"] == "paused"
    assert admin_api.post(f"{base}/pause").status_code == 422  # already paused
    assert admin_api.post(f"{base}/resume").json()["status"] == "active"
    r = admin_api.post(f"{base}/lines", {"lines": [{"product_id": p2.pk, "quantity": "3"}]})
    assert r.status_code == 200
    live = [li for li in r.json()["lines"] if li["until_index"] is None]
    assert [li["product_id"] for li in live] == [p2.pk]
    r = admin_api.post(f"{base}/cancel", {"at_period_end": False})
    assert r.json()["status"] == "cancelled"
    err = admin_api.post(f"{base}/cancel", {}).json()
    assert err["code"] == "validation_error" and err["errors"][0]["field"] == "status"


def test_service_errors_name_the_field(world, admin_api):
    cl = f.client(world.company)
    r = admin_api.post("/contracts", _contract_body(world, cl.pk, 999999))
    assert r.status_code == 422
    assert r.json()["errors"][0] == {
        "field": "lines.0.product_id",
        "code": "unknown_product",
        "message": "unknown product",
    }
    p = f.product(world.company)
    r = admin_api.post(
        "/contracts", _contract_body(world, cl.pk, p.pk, ends_at=local(2026, 1, 1).isoformat())
    )
    assert r.status_code == 422 and "ends_at" in {e["field"] for e in r.json()["errors"]}
    r = admin_api.post("/products", {"code": "X", "name": "X", "unit_price": "-1"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "unit_price"
    assert r["Content-Type"] == "application/problem+json"


def test_a_duplicate_contract_number_is_a_problem_not_a_crash(world, admin_api):
    cl, p = f.client(world.company), f.product(world.company)
    assert admin_api.post("/contracts", _contract_body(world, cl.pk, p.pk)).status_code == 201
    r = admin_api.post("/contracts", _contract_body(world, cl.pk, p.pk))
    assert r.status_code in (409, 422) and r["Content-Type"] == "application/problem+json"
    assert Contract.objects.count() == 1


def test_billing_preview_writes_nothing(world, admin_api):
    c = f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    other, _, other_user = f.setup_company()
    f.contract(other, issuer=other_user, first=local(2026, 1, 31))  # not the caller's company
    r = admin_api.get("/billing/preview", {"as_of": local(2026, 3, 1, 12).isoformat()})
    assert r.status_code == 200, r.content
    body = r.json()
    assert [i["number"] for i in body["items"]] == ["REC-000001", "REC-000002"]
    assert [i["kind"] for i in body["items"]] == ["invoice", "invoice"]
    assert [i["period_start"] for i in body["items"]] == ["2026-01-31", "2026-02-28"]
    c.refresh_from_db()
    assert c.next_index == 0 and not Invoice.objects.exists()
    far = (clock.now() + timedelta(days=1000)).isoformat()
    assert admin_api.get("/billing/preview", {"as_of": far}).status_code == 422


def test_documents_download_once_rendered(world, admin_api):
    f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 1, 31, 10))
    inv = Invoice.objects.get()
    r = admin_api.get(f"/invoices/{inv.pk}/xml")
    assert r.status_code == 404 and r.json()["code"] == "document_not_ready"
    invoice_render(invoice=inv, kinds=("xml",))
    r = admin_api.get(f"/invoices/{inv.pk}/xml")
    assert r.status_code == 200 and b"<Invoice" in r.content
    assert r["Content-Type"].startswith("application/xml") or r["Content-Type"].startswith(
        "text/xml"
    )
    # A PDF is rendered the first time it is asked for (issue 22), then served as stored.
    r = admin_api.get(f"/invoices/{inv.pk}/pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF-")
    assert admin_api.get(f"/invoices/{inv.pk}/pdf").content == r.content


def test_storno_through_the_api(world, admin_api, viewer_api):
    f.contract(
        world.company,
        issuer=world.user,
        lines=[(f.product(world.company), "3")],
        first=local(2026, 1, 31),
    )
    issue_due(as_of=local(2026, 1, 31, 10))
    inv = admin_api.get("/invoices").json()["items"][0]
    line = admin_api.get(f"/invoices/{inv['id']}").json()["lines"][0]
    assert viewer_api.post(f"/invoices/{inv['id']}/storno", {}).status_code == 403
    r = admin_api.post(
        f"/invoices/{inv['id']}/storno", {"lines": [{"line_id": line["id"], "quantity": "1"}]}
    )
    assert r.status_code == 201, r.content
    credit = r.json()
    assert credit["kind"] == "credit_note" and credit["credited_invoice_id"] == inv["id"]
    assert credit["lines"][0]["quantity"].startswith("-1")
    assert admin_api.get(f"/invoices/{inv['id']}").json()["status"] == "partially_credited"
    r = admin_api.post(
        f"/invoices/{inv['id']}/storno", {"lines": [{"line_id": line["id"], "quantity": "5"}]}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "lines"
    assert admin_api.post(f"/invoices/{inv['id']}/storno", {}).status_code == 201  # the rest
    assert admin_api.get(f"/invoices/{inv['id']}").json()["status"] == "cancelled"
    assert admin_api.get("/invoices", {"kind": "credit_note"}).json()["count"] == 2


def test_contract_events_are_queued_for_subscribed_endpoints(world, admin_api):
    ep = admin_api.post(
        "/webhooks/endpoints",
        {"url": "http://127.0.0.1:9/hook", "events": ["contract.created", "invoice.issued"]},
    ).json()
    assert ep["secret"].startswith("whsec_")
    assert "secret" not in admin_api.get(f"/webhooks/endpoints/{ep['id']}").json()
    cl, p = f.client(world.company), f.product(world.company)
    contract = admin_api.post("/contracts", _contract_body(world, cl.pk, p.pk)).json()
    r = admin_api.post(
        f"/contracts/{contract['id']}/lines", {"lines": [{"product_id": p.pk, "quantity": "5"}]}
    )
    assert r.status_code == 200  # contract.changed: not subscribed
    issue_due(as_of=local(2026, 1, 31, 10))
    types = list(WebhookDelivery.objects.order_by("pk").values_list("event_type", flat=True))
    assert types == ["contract.created", "invoice.issued"]
    log = admin_api.get("/webhooks/deliveries").json()
    assert log["count"] == 2 and {d["state"] for d in log["items"]} == {"pending"}
