"""POST /api/v1/invoices: a one-off invoice issued through the API, with its conventions."""

from __future__ import annotations

from recurent.invoices.models import Invoice, InvoiceDraft
from recurent.invoices.services import issue_due
from recurent.mail.models import OutboxMessage
from tests import factories as f
from tests.api.conftest import accountant_api, admin_api, viewer_api  # noqa: F401
from tests.factories import local


def _body(client, **kw):
    body = {
        "client": client.pk,
        "lines": [
            {"name": "Instalare", "unit_code": "C62", "quantity": "1", "unit_price": "500"},
            {"product": kw.pop("product_code", None) or "", "quantity": "2"},
        ],
    }
    body.update(kw)
    return body


def test_an_accountant_issues_a_one_off_invoice_numbered_after_the_contract_invoices(
    world,
    accountant_api,  # noqa: F811
):
    f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 1, 31, 10))
    cl = f.client(world.company, tax_id="RO1590082")
    p = f.product(world.company, unit_price="40")
    r = accountant_api.post(
        "/invoices", _body(cl, product_code=p.code, email=True),
        headers={"Idempotency-Key": "one-off-1"},
    )  # fmt: skip
    assert r.status_code == 201, r.content
    out = r.json()
    assert out["full_number"] == "REC-000002" and out["gross_total"] in ("701.80", "701.8")
    assert [li["name"] for li in out["lines"]] == ["Instalare", p.name]
    inv = Invoice.objects.get(pk=out["id"])
    assert inv.origin == "manual" and inv.client_id == cl.pk
    assert OutboxMessage.objects.filter(invoice=inv).count() == 1  # emailed, as asked
    again = accountant_api.post(
        "/invoices", _body(cl, product_code=p.code, email=True),
        headers={"Idempotency-Key": "one-off-1"},
    )  # fmt: skip
    assert again.json()["id"] == out["id"] and Invoice.objects.count() == 2  # replayed


def test_a_bad_line_is_a_problem_naming_it_and_nothing_is_written(world, accountant_api):  # noqa: F811
    cl = f.client(world.company)
    body = _body(cl)
    body["lines"][1] = {"name": "Fără preț", "quantity": "1"}
    r = accountant_api.post("/invoices", body)
    assert r.status_code in (400, 422), r.content
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert "lines.1.unit_price" in r.content.decode()  # the API numbers lines from 0
    assert Invoice.objects.count() == 0 and InvoiceDraft.objects.count() == 0
    world.series.refresh_from_db()
    assert world.series.next_number == 1


def test_a_viewer_cannot_issue(world, viewer_api):  # noqa: F811
    r = viewer_api.post("/invoices", _body(f.client(world.company)))
    assert r.status_code == 403 and Invoice.objects.count() == 0


def test_a_draft_through_the_api_is_numbered_only_when_issued(world, accountant_api):  # noqa: F811
    cl = f.client(world.company, tax_id="RO1590082")
    body = {"client": cl.tax_id, "lines": [{"name": "Curs", "quantity": "1", "unit_price": "100"}]}
    r = accountant_api.post("/invoice-drafts", body)
    assert r.status_code == 201, r.content
    draft = r.json()
    assert draft["invoice_id"] is None and Invoice.objects.count() == 0
    pf = accountant_api.post(f"/invoice-drafts/{draft['id']}/proforma")
    assert pf.status_code == 201 and pf.json()["proforma_number"] == "PF-000001"
    assert accountant_api.get(f"/invoice-drafts/{draft['id']}/proforma.pdf").content[:4] == b"%PDF"
    issued = accountant_api.post(f"/invoice-drafts/{draft['id']}/issue")
    assert issued.status_code == 201 and issued.json()["full_number"] == "REC-000001"
    again = accountant_api.post(f"/invoice-drafts/{draft['id']}/issue")
    assert again.status_code == 422 and Invoice.objects.count() == 1


def test_another_company_cannot_reach_a_draft(world, accountant_api):  # noqa: F811
    from tests.api.conftest import Api, token_for

    cl = f.client(world.company)
    body = {"client": cl.pk, "lines": [{"name": "Curs", "quantity": "1", "unit_price": "100"}]}
    draft = accountant_api.post("/invoice-drafts", body).json()
    other, _, other_user = f.setup_company()
    _, raw = token_for(other_user, other)
    assert Api(raw).post(f"/invoice-drafts/{draft['id']}/issue").status_code == 404


def test_a_tax_id_shared_by_two_clients_is_refused_not_guessed(world, accountant_api):  # noqa: F811
    a = f.client(world.company, tax_id="RO1590082", name="Alfa SRL")
    f.client(world.company, tax_id="RO1590082", name="Alfa SRL (punct de lucru)")
    body = _body(a, product_code=f.product(world.company, unit_price="40").code)
    body["client"] = "RO1590082"
    r = accountant_api.post("/invoices", body)
    assert r.status_code in (400, 422) and "RO1590082" in r.content.decode(), r.content
    assert Invoice.objects.count() == 0
    body["client"] = a.pk
    assert accountant_api.post("/invoices", body).status_code == 201
