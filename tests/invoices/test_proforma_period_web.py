"""The proforma-first option on the web: the contract form, the contract page, and a payment
recorded on the proforma's page that issues the invoice."""

from __future__ import annotations

from decimal import Decimal

from recurent.companies.models import Role
from recurent.invoices.models import Invoice, InvoiceDraft
from recurent.invoices.proforma_period import proformas_expire
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local
from tests.web.conftest import client_for


def test_the_contract_form_offers_the_option_and_saves_it(world):
    from recurent.contracts.models import Contract

    web = client_for(world, Role.ACCOUNTANT)
    page = web.get("/contracts/new/").content.decode()
    assert 'name="proforma_first"' in page and 'name="proforma_valid_days"' in page
    p, cl = f.product(world.company), f.client(world.company)
    body = {
        "client": cl.pk, "number": "CTR-PF", "signed_on": "2026-01-05", "first_issue_at": "2026-01-31T09:00",
        "series": world.series.pk, "issuer": world.user.pk, "cycle": "monthly", "payment_term_days": "15",
        "currency": "RON", "invoice_currency": "RON", "proforma_first": "on", "proforma_valid_days": "0",
        "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-0-product": p.pk, "lines-0-quantity": "1",
    }  # fmt: skip
    assert web.post("/contracts/new/", body).status_code == 200  # 0 days refused
    assert not Contract.objects.filter(number="CTR-PF").exists()
    body["proforma_valid_days"] = "10"
    assert web.post("/contracts/new/", body).status_code == 302
    c = Contract.objects.get(number="CTR-PF")
    assert (c.proforma_first, c.proforma_valid_days) == (True, 10)


def test_the_contract_page_lists_its_proformas_and_a_payment_on_one_issues_the_invoice(world):
    c = f.contract(world.company, issuer=world.user, proforma_first=True)
    issue_due(as_of=local(2026, 2, 2, 9))
    web = client_for(world, Role.ACCOUNTANT)
    page = web.get(f"/contracts/{c.pk}/").content.decode()
    assert 'id="proformas"' in page and "PF-000001" in page
    assert "întâi proformă" in web.get("/contracts/").content.decode()  # marked in the list
    d = InvoiceDraft.objects.get()
    proforma_page = web.get(f"/invoices/drafts/{d.pk}/").content.decode()
    assert 'id="proforma-pay"' in proforma_page and "121" in proforma_page
    r = web.post(f"/invoices/drafts/{d.pk}/",
                 {"action": "pay", "date": "2026-02-04", "amount": "121.00", "reference": "OP 7"})  # fmt: skip
    inv = Invoice.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/invoices/{inv.pk}/"
    assert inv.balance.outstanding == Decimal("0.00") and inv.contract_id == c.pk
    page = web.get(f"/contracts/{c.pk}/").content.decode()
    assert inv.full_number in page


def test_a_partial_payment_on_the_page_keeps_the_proforma_open(world):
    f.contract(world.company, issuer=world.user, proforma_first=True)
    issue_due(as_of=local(2026, 2, 2, 9))
    d = InvoiceDraft.objects.get()
    web = client_for(world, Role.ACCOUNTANT)
    r = web.post(
        f"/invoices/drafts/{d.pk}/", {"action": "pay", "date": "2026-02-04", "amount": "20"}
    )
    assert r.status_code == 302 and r["Location"] == f"/invoices/drafts/{d.pk}/"
    assert Invoice.objects.count() == 0
    page = web.get(r["Location"]).content.decode()
    assert 'id="proforma-state"' in page and "20" in page


def test_an_expired_proforma_shows_as_expired_on_the_contract_page(world):
    c = f.contract(world.company, issuer=world.user, proforma_first=True)
    issue_due(as_of=local(2026, 2, 2, 9))
    proformas_expire(limit=10, as_of=local(2026, 3, 1, 9))
    web = client_for(world, Role.VIEWER)
    page = web.get(f"/contracts/{c.pk}/").content.decode()
    d = InvoiceDraft.objects.get()
    assert d.proforma_expired_at is not None
    assert "expirată" in page and "Proformele acestui contract" in page  # Romanian by default
