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


def test_the_contract_form_offers_the_option(world):
    web = client_for(world, Role.ACCOUNTANT)
    page = web.get("/contracts/new/").content.decode()
    assert 'name="proforma_first"' in page and 'name="proforma_valid_days"' in page


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
