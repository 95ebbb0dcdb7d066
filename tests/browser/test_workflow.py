"""The whole seed workflow in a real browser (Debian's chromium driven by Playwright)."""

import re

import pytest

from recurent.invoices.models import Invoice
from tests import factories as f
from tests.browser.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def kpi(page, kpi_id: str) -> str:
    return page.locator(f"#{kpi_id} .kpi-value").inner_text().strip()


def test_the_seed_workflow_from_login_to_payment(live_server, browser_page):
    page = browser_page
    company, series, user = f.setup_company()
    url = live_server.url

    # Log in (Romanian by default).
    page.goto(url + "/")
    assert "/login/" in page.url
    shot(page, "01-login")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-" + user.username)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Panou')")
    outstanding_before = kpi(page, "kpi-outstanding")
    shot(page, "02-dashboard-empty")

    # Add a product.
    page.goto(url + "/products/new/")
    page.fill("#id_code", "HOST")
    page.fill("#id_name", "Găzduire web")
    page.fill("#id_unit_price", "250")
    page.select_option("#id_unit_code", "MON")
    page.fill("#id_unit_name", "lună")
    page.click("button:has-text('Salvează')")
    page.wait_for_selector("text=Produsul HOST a fost adăugat.")
    page.goto(url + "/products/new/")
    page.fill("#id_code", "SUP")
    page.fill("#id_name", "Suport tehnic")
    page.fill("#id_unit_price", "80")
    page.click("button:has-text('Salvează')")
    page.wait_for_selector("text=Produsul SUP a fost adăugat.")
    shot(page, "03-products")

    # Add a client: an invalid CUI is refused next to the field, then a valid one is saved.
    page.goto(url + "/clients/new/")
    page.fill("#id_name", "Beta Consult SRL")
    page.fill("#id_tax_id", "RO18547291")
    page.fill("#id_street", "Str. Republicii 10")
    page.fill("#id_city", "Brașov")
    page.select_option("#id_county", "RO-BV")  # a list of counties (issue 16)
    page.fill("#id_emails", "facturi@beta.ro")
    page.click("button:has-text('Salvează')")
    error = page.locator("#id_tax_id_error")
    assert "nu este un CUI/CIF valid" in error.inner_text()
    shot(page, "04-client-invalid-cui")
    page.fill("#id_tax_id", "RO18547290")
    page.click("button:has-text('Salvează')")
    page.wait_for_selector("h1:has-text('Beta Consult SRL')")

    # A monthly contract with two lines, activated.
    page.click("a:has-text('Contract nou')")
    page.fill("#id_number", "CTR-2026-1")
    page.fill("#id_signed_on", "2026-01-05")
    page.fill("#id_first_issue_at", "2026-01-31T09:00")
    page.click("button[data-tab=tab-products]")
    page.select_option("#id_lines-0-product", label="HOST · Găzduire web (RON)")
    page.fill("#id_lines-0-quantity", "2")
    page.click("#add-line")
    page.select_option("#id_lines-1-product", label="SUP · Suport tehnic (RON)")
    page.fill("#id_lines-1-quantity", "1")
    # The running total with VAT (21%): 2 × 250 + 80 = 580, VAT 121,80.
    assert page.locator("#sum-net").inner_text() == "580,00"
    assert page.locator("#sum-gross").inner_text() == "701,80"
    shot(page, "05-contract-form-products")
    page.click("button[data-tab=tab-billing]")
    page.select_option("#id_cycle", "monthly")
    page.click("button[name=activate]")
    page.wait_for_selector("text=Contractul CTR-2026-1 a fost creat.")
    assert page.locator("text=Următoarele date de emitere").count() == 1
    shot(page, "06-contract")

    # Run billing as of a later date.
    page.goto(url + "/billing/")
    page.fill("#id_as_of", "2026-03-01T10:00")
    page.uncheck("#id_dry_run")
    page.click("button:has-text('Rulează')")
    page.wait_for_selector("#job-done", timeout=30000)
    assert "2 facturi emise." in page.locator("#job-done").inner_text()
    shot(page, "07-billing-run")
    assert Invoice.objects.count() == 2

    # Open the first invoice.
    page.goto(url + "/invoices/")
    shot(page, "08-invoices")
    page.click("a:has-text('REC-000001')")
    page.wait_for_selector("h1:has-text('REC-000001')")
    assert "701,80" in page.locator(".totals").inner_text()
    shot(page, "09-invoice")

    # Download its PDF.
    pdf_link = page.locator("a:has-text('Descarcă PDF')")
    assert pdf_link.count() == 1
    with page.expect_download() as dl:
        pdf_link.click()
    path = dl.value.path()
    with open(path, "rb") as fh:
        assert fh.read(5) == b"%PDF-"

    page.goto(url + "/")
    outstanding_after_billing = kpi(page, "kpi-outstanding")
    assert outstanding_after_billing != outstanding_before
    assert re.search(r"1\.403,60", outstanding_after_billing), outstanding_after_billing
    shot(page, "10-dashboard-after-billing")

    # Record a payment of the first invoice (the payments app's screen).
    page.goto(url + f"/invoices/{Invoice.objects.order_by('number').first().pk}/")
    page.click("a:has-text('Înregistrează o încasare')")
    page.wait_for_selector("#amount")
    shot(page, "11-record-payment")
    page.click("button:has-text('Înregistrează')")
    page.wait_for_load_state()
    page.goto(url + "/")
    assert "701,80" in kpi(page, "kpi-outstanding")
    shot(page, "12-dashboard-after-payment")

    # Switch to English.
    page.click("button[name=language][value=en]")
    page.wait_for_selector("h1:has-text('Dashboard')")
    assert "701.80" in kpi(page, "kpi-outstanding")
    shot(page, "13-dashboard-english")

    # Phone-sized screen: the menu becomes a drawer.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url + "/invoices/")
    shot(page, "14-invoices-phone")
    page.click("label.nav-button")
    page.wait_for_timeout(300)
    shot(page, "15-menu-phone")
