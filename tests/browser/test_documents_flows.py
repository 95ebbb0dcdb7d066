"""Issue #18's documents in a real browser: a one-off invoice issued from /invoices/new/, a
proforma paid and turned into its invoice by the payment, a cash receipt with its PDF."""

from decimal import Decimal

import pytest

from recurent.invoices.models import Invoice, InvoiceDraft, Receipt
from recurent.invoices.oneoff import DraftLineSpec, invoice_create
from tests import factories as f
from tests.browser.conftest import shot
from tests.factories import local

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, url, user):
    page.goto(url + "/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-" + user.username)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Panou')")


def _fill_invoice(page, client, price: str) -> None:
    page.select_option("#id_client", str(client.pk))
    page.fill("#id_form-0-name", "Montaj echipament")
    page.fill("#id_form-0-unit_code", "C62")
    page.fill("#id_form-0-unit_name", "buc")
    page.fill("#id_form-0-quantity", "2")
    page.fill("#id_form-0-unit_price", price)


def test_a_one_off_invoice_is_created_and_issued_on_the_web(live_server, browser_page):
    page, url = browser_page, live_server.url
    company, _series, user = f.setup_company()
    cl = f.client(company)
    _login(page, url, user)

    page.goto(url + "/invoices/new/")
    _fill_invoice(page, cl, "250")
    page.once("dialog", lambda d: d.accept())  # "Issue the invoice now?"
    page.click("button[name=action][value=issue]")
    page.wait_for_url("**/invoices/*/")
    shot(page, "documents-01-one-off-issued")

    inv = Invoice.objects.get()
    assert page.url.endswith(f"/invoices/{inv.pk}/")
    assert (inv.full_number, inv.origin) == ("REC-000001", "manual")
    assert inv.gross_total == Decimal("605.00")  # 2 × 250 + 21 % VAT
    body = page.locator("body").inner_text()
    assert "REC-000001" in body and cl.name in body
    assert not InvoiceDraft.objects.filter(invoice__isnull=True).exists()  # no draft left over


def test_a_proforma_paid_on_the_web_becomes_its_linked_invoice(live_server, browser_page):
    page, url = browser_page, live_server.url
    company, _series, user = f.setup_company()
    cl = f.client(company)
    _login(page, url, user)

    page.goto(url + "/invoices/new/")
    _fill_invoice(page, cl, "100")
    page.click("button[name=action][value=proforma]")
    page.wait_for_url("**/invoices/drafts/*/")
    draft = InvoiceDraft.objects.get()
    assert draft.proforma_number == "PF-000001" and Invoice.objects.count() == 0
    assert "PF-000001" in page.locator("h1").inner_text()
    shot(page, "documents-02-proforma")

    # The payment form proposes the proforma's total: recording it covers the proforma.
    assert page.input_value("#proforma-pay input[name=amount]") == "242.00"
    page.click("#proforma-pay button[type=submit]")
    page.wait_for_url("**/invoices/*/")
    shot(page, "documents-03-proforma-invoice")

    draft.refresh_from_db()
    inv = Invoice.objects.get()
    assert draft.invoice_id == inv.pk and page.url.endswith(f"/invoices/{inv.pk}/")
    assert inv.gross_total == Decimal("242.00") and inv.full_number == "REC-000001"
    assert draft.payments.get().amount == Decimal("242.00")  # the payment stands for it
    assert "REC-000001" in page.locator("body").inner_text()


def test_a_cash_receipt_is_recorded_with_its_number_and_pdf(live_server, browser_page):
    page, url = browser_page, live_server.url
    company, series, user = f.setup_company()
    cl = f.client(company)
    inv = invoice_create(
        company=company, client=cl, series=series, as_of=local(2026, 2, 2, 9), user=user,
        lines=[DraftLineSpec(quantity=Decimal(1), name="Service", unit_price=Decimal("100"))],
    )  # fmt: skip
    _login(page, url, user)

    page.goto(url + f"/payments/record/invoice/{inv.pk}/")
    assert page.input_value("#amount") == "121,00"  # what is left to pay, in Romanian
    page.select_option("#method", "cash")
    page.check("input[name=issue_receipt]")
    page.click("button.btn-primary[type=submit]")
    page.wait_for_url("**/payments/")
    shot(page, "documents-04-receipt")

    receipt = Receipt.objects.get()
    assert receipt.full_number == "CH-000001" and receipt.amount == Decimal("121.00")
    assert receipt.paid_invoices == [{"number": inv.full_number, "amount": "121.00"}]
    assert "CH-000001" in page.locator("body").inner_text()  # the message and the list
    link = page.locator("a.receipt-pdf")
    assert "CH-000001" in link.inner_text()
    pdf = page.request.get(url + link.get_attribute("href"))  # with the browser's session
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
