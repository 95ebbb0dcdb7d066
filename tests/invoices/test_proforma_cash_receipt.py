"""Cash paid against a proforma gets its receipt (issue 18): after the invoice when the cash
covers the proforma (the receipt names that invoice), or for an advance "conform proformei PF-N"
when it does not yet. From the proforma's page and the API; refused, naming the field, for money
that is not cash in lei."""

from __future__ import annotations

import subprocess

from django.urls import reverse

from recurent.invoices.models import Invoice, InvoiceDraft, Receipt
from recurent.invoices.services import issue_due
from recurent.payments.models import Payment
from recurent.payments.receipts import receipt_pdf, receipt_series_create
from tests import factories as f
from tests.api.conftest import Api, token_for
from tests.factories import local
from tests.web.conftest import login


def _proforma(world) -> InvoiceDraft:
    receipt_series_create(company=world.company, code="CH")
    c = f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    c.proforma_first = True
    c.save(update_fields=["proforma_first"])
    issue_due(as_of=local(2026, 2, 2, 9))
    return InvoiceDraft.objects.exclude(proforma_number="").get()


def _text(receipt: Receipt) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=receipt_pdf(receipt), capture_output=True,
                         check=True).stdout.decode()  # fmt: skip
    return " ".join(out.split())


def test_cash_through_the_api_an_advance_then_the_rest_with_the_invoice(world):
    api = Api(token_for(world.user, world.company)[1])
    pf = _proforma(world)
    assert pf.proforma_total == 121
    url = f"/invoice-drafts/{pf.pk}/payments"
    first = api.post(url, {"date": "2026-02-03", "amount": "50", "method": "cash",
                           "issue_receipt": True})  # fmt: skip
    assert first.status_code == 201, first.content
    advance = Receipt.objects.get(payment_id=first.json()["id"])
    assert advance.paid_invoices == [] and first.json()["receipt_id"] == advance.pk
    assert f"avans conform proformei {pf.proforma_number}" in _text(advance)
    assert not Invoice.objects.exists()
    rest = api.post(url, {"date": "2026-02-03", "amount": "71", "method": "cash",
                          "issue_receipt": True})  # fmt: skip
    assert rest.status_code == 201, rest.content
    inv = Invoice.objects.get()
    receipt = Receipt.objects.get(payment_id=rest.json()["id"])
    assert receipt.paid_invoices[-1]["number"] == inv.full_number
    assert inv.full_number in _text(receipt)
    assert [r.full_number for r in Receipt.objects.order_by("pk")] == ["CH-000001", "CH-000002"]


def test_a_receipt_for_money_that_is_not_cash_is_refused_naming_the_field(world):
    api = Api(token_for(world.user, world.company)[1])
    pf = _proforma(world)
    r = api.post(f"/invoice-drafts/{pf.pk}/payments", {"date": "2026-02-03", "amount": "121",
                 "method": "bank_transfer", "issue_receipt": True})  # fmt: skip
    assert r.status_code == 422 and "method" in r.content.decode()
    assert not Payment.objects.exists() and not Invoice.objects.exists()
    assert not Receipt.objects.exists()


def test_the_proforma_page_records_cash_issues_the_invoice_and_its_receipt(world):
    pf = _proforma(world)
    c = login(world.user)
    r = c.post(reverse("web:invoice-draft", args=[pf.pk]), {
        "action": "pay", "date": "2026-02-03", "amount": "121.00", "reference": "",
        "method": "cash", "issue_receipt": "on",
    }, follow=True)  # fmt: skip
    inv = Invoice.objects.get()
    receipt = Receipt.objects.get()
    assert receipt.paid_invoices == [{"number": inv.full_number, "amount": "121.00"}]
    page = r.content.decode()
    assert receipt.full_number in page and inv.full_number in page
