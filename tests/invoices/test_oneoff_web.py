"""The "New invoice" page: a draft saved without a number, then issued; viewers refused."""

from __future__ import annotations

from recurent.companies.models import Role
from recurent.invoices.models import Invoice, InvoiceDraft
from recurent.mail.models import OutboxMessage
from tests import factories as f
from tests.web.conftest import client_for


def _post(client, url, cl, series, action, **extra):
    data = {
        "client": cl.pk, "series": series.pk, "issue_date": "", "due_date": "",
        "currency": "RON", "notes": "Comandă 17", "action": action,
        "form-TOTAL_FORMS": "2", "form-INITIAL_FORMS": "0",
        "form-MIN_NUM_FORMS": "0", "form-MAX_NUM_FORMS": "200",
        "form-0-name": "Montaj", "form-0-unit_code": "C62", "form-0-unit_name": "buc",
        "form-0-quantity": "2", "form-0-unit_price": "250", "form-0-vat_category": "S",
        "form-0-vat_rate": "standard",
        # an untouched empty row of the page
        "form-1-vat_category": "S", "form-1-vat_rate": "standard",
    }  # fmt: skip
    data.update(extra)
    return client.post(url, data)


def test_an_accountant_saves_a_draft_then_issues_it(world):
    web = client_for(world, Role.ACCOUNTANT)
    cl = f.client(world.company)
    page = web.get("/invoices/new/")
    assert page.status_code == 200 and b'name="form-0-quantity"' in page.content
    from recurent.common import clock
    from recurent.engine.cycles import BUCHAREST

    today = clock.now().astimezone(BUCHAREST).date().isoformat()
    r = _post(web, "/invoices/new/", cl, world.series, "save", issue_date=today)
    assert r.status_code == 302, r.content.decode()[:2000]
    draft = InvoiceDraft.objects.get()
    assert r["Location"] == f"/invoices/drafts/{draft.pk}/"
    assert Invoice.objects.count() == 0 and draft.lines.count() == 1  # the empty row ignored
    assert b"Montaj" in web.get(r["Location"]).content
    r = _post(web, r["Location"], cl, world.series, "issue", issue_date=today, email="on")
    assert r.status_code == 302, r.content.decode()[:2000]
    inv = Invoice.objects.get()
    assert r["Location"] == f"/invoices/{inv.pk}/"
    assert (inv.full_number, inv.gross_total, inv.origin) == ("REC-000001", 605, "manual")
    assert OutboxMessage.objects.filter(invoice=inv).count() == 1
    page = web.get(r["Location"])  # the invoice page of an invoice without a contract
    assert page.status_code == 200 and b"REC-000001" in page.content
    assert web.get(f"/invoices/drafts/{draft.pk}/").status_code == 404  # issued: no longer a draft


def test_a_refused_issue_shows_why_and_writes_nothing(world):
    web = client_for(world, Role.ACCOUNTANT)
    cl = f.client(world.company)
    r = _post(web, "/invoices/new/", cl, world.series, "issue", issue_date="2099-01-01")
    assert r.status_code == 400
    assert Invoice.objects.count() == 0 and InvoiceDraft.objects.count() == 0


def test_a_viewer_cannot_open_the_new_invoice_page(world):
    web = client_for(world, Role.VIEWER)
    assert web.get("/invoices/new/").status_code == 403
    r = _post(web, "/invoices/new/", f.client(world.company), world.series, "issue")
    assert r.status_code == 403 and Invoice.objects.count() == 0


def test_a_proforma_from_the_page_then_its_invoice_by_hand(world):
    web = client_for(world, Role.ACCOUNTANT)
    cl = f.client(world.company)
    from recurent.common import clock
    from recurent.engine.cycles import BUCHAREST

    today = clock.now().astimezone(BUCHAREST).date().isoformat()
    r = _post(web, "/invoices/new/", cl, world.series, "proforma", issue_date=today)
    assert r.status_code == 302, r.content.decode()[:2000]
    draft = InvoiceDraft.objects.get()
    assert draft.proforma_number == "PF-000001" and Invoice.objects.count() == 0
    page = web.get(r["Location"])
    assert b"PF-000001" in page.content
    pdf = web.get(f"/invoices/drafts/{draft.pk}/proforma.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    r = web.post(f"/invoices/drafts/{draft.pk}/")
    inv = Invoice.objects.get()
    assert r["Location"] == f"/invoices/{inv.pk}/" and inv.full_number == "REC-000001"
