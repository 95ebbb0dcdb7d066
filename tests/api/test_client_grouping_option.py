"""The one-invoice-per-client option through the API (docs/grouped-invoices.md): set on create,
changed by PATCH, read back, and obeyed by the billing run."""

from __future__ import annotations

from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local

BODY = {"name": "Grup SRL", "tax_id": "RO13548146", "street": "Str. Lungă 1", "city": "Cluj-Napoca",
        "county": "CJ"}  # fmt: skip


def test_the_option_is_created_patched_read_and_obeyed(world, admin_api):
    created = admin_api.post("/clients", {**BODY, "one_invoice_per_client": True})
    assert created.status_code == 201, created.content
    cid = created.json()["id"]
    assert created.json()["one_invoice_per_client"] is True
    assert admin_api.get(f"/clients/{cid}").json()["one_invoice_per_client"] is True
    # Two contracts due together: one invoice, because the API set the option.
    client = world.company.clients.get(pk=cid)
    for _ in range(2):
        f.contract(world.company, issuer=world.user, client_=client, first=local(2026, 1, 31))
    assert issue_due(as_of=local(2026, 1, 31, 10)).issued == 1
    assert Invoice.objects.filter(client_id=cid).count() == 1
    # Turned off, the next period goes one invoice per contract; not a boolean: refused (422).
    off = admin_api.patch(f"/clients/{cid}", {"one_invoice_per_client": False})
    assert off.status_code == 200 and off.json()["one_invoice_per_client"] is False
    assert (
        admin_api.patch(f"/clients/{cid}", {"one_invoice_per_client": "often"}).status_code == 422
    )
    assert issue_due(as_of=local(2026, 2, 28, 10)).issued == 2
    # Left out on create: off, as on the web form.
    other = admin_api.post("/clients", {**BODY, "name": "Altul SRL"}).json()
    assert other["one_invoice_per_client"] is False


def test_a_grouped_invoice_shows_each_lines_contract_and_credits_one_contract(world, admin_api):
    client = f.client(world.company, one_invoice_per_client=True)
    a, b = (
        f.contract(world.company, issuer=world.user, client_=client, first=local(2026, 1, 31))
        for _ in range(2)
    )
    issue_due(as_of=local(2026, 1, 31, 10))
    inv = Invoice.objects.get(client=client)
    detail = admin_api.get(f"/invoices/{inv.pk}").json()
    assert [li["contract_id"] for li in detail["lines"]] == [a.pk, b.pk]
    assert {(li["period_start"], li["period_end"]) for li in detail["lines"]} == {
        ("2026-01-31", "2026-02-27")
    }
    # Lines and a contract together: refused, naming the field, nothing issued.
    line_id = detail["lines"][0]["id"]
    both = admin_api.post(f"/invoices/{inv.pk}/storno",
                          {"contract_id": b.pk, "lines": [{"line_id": line_id, "quantity": "1"}]})  # fmt: skip
    assert both.status_code == 422 and "contract_id" in both.content.decode()
    assert Invoice.objects.count() == 1
    # Contract b's lines credited alone; the invoice stays issued with a's group.
    credit = admin_api.post(f"/invoices/{inv.pk}/storno", {"contract_id": b.pk})
    assert credit.status_code == 201, credit.content
    assert [li["contract_id"] for li in credit.json()["lines"]] == [b.pk]
    assert credit.json()["gross_total"] == "-121.00"
    again = admin_api.post(f"/invoices/{inv.pk}/storno", {"contract_id": b.pk})
    assert again.status_code == 422 and "already credited" in again.content.decode()
