"""The proforma-first option through the API: set on the contract, the proformas listed, a
payment recorded against one that issues its invoice."""

from __future__ import annotations

from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.api.conftest import Api, token_for
from tests.factories import local


def test_a_contract_billed_by_proforma_first_through_the_api(world):
    admin_api = Api(token_for(world.user, world.company)[1])
    cl, p = f.client(world.company), f.product(world.company)
    body = {"client_id": cl.pk, "number": "CTR-PF", "signed_on": "2026-01-01",
            "first_issue_at": local(2026, 1, 31).isoformat(), "activate": True,
            "lines": [{"product_id": p.pk, "quantity": "1"}],
            "proforma_first": True, "proforma_valid_days": 10}  # fmt: skip
    r = admin_api.post("/contracts", body)
    assert r.status_code == 201, r.content
    contract = r.json()
    assert contract["proforma_first"] is True and contract["proforma_valid_days"] == 10
    assert (
        admin_api.post("/contracts", {**body, "number": "X", "proforma_valid_days": 0}).status_code
        == 422
    )

    issue_due(as_of=local(2026, 2, 2, 9))
    listed = admin_api.get("/proformas", {"contract_id": contract["id"]}).json()
    assert len(listed) == 1 and listed[0]["proforma_number"] == "PF-000001"
    pf = listed[0]
    assert pf["period_start"] == "2026-01-31" and pf["proforma_expires_on"] == "2026-02-12"
    assert pf["invoice_id"] is None and pf["proforma_total"] in ("121.00", "121")

    r = admin_api.post(
        f"/invoice-drafts/{pf['id']}/payments", {"date": "2026-02-03", "amount": "121.00"}
    )
    assert r.status_code == 201, r.content
    payment = r.json()
    inv = Invoice.objects.get()
    assert payment["proforma_id"] == pf["id"] and payment["unallocated"] in ("0.00", "0")
    assert payment["allocations"][0]["invoice_id"] == inv.pk
    again = admin_api.get("/proformas", {"contract_id": contract["id"]}).json()[0]
    assert again["invoice_id"] == inv.pk

    r = admin_api.patch(f"/contracts/{contract['id']}", {"proforma_first": False})
    assert r.status_code == 200 and r.json()["proforma_first"] is False


def test_a_payment_against_something_that_is_not_a_proforma_is_a_404(world):
    admin_api = Api(token_for(world.user, world.company)[1])
    r = admin_api.post("/invoice-drafts/999999/payments", {"date": "2026-02-03", "amount": "1"})
    assert r.status_code == 404
