"""Issue 16 in a real browser: no page scrolls sideways at 1280 px nor on a 390 px phone; the
contract form opens the tab that holds an error and lists every error above the tabs."""

from datetime import date

import pytest

from recurent.invoices.services import issue_due
from recurent.payments.services import payment_record
from tests import factories as f
from tests.browser.conftest import shot
from tests.factories import local

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, url, user):
    page.goto(url + "/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-" + user.username)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")


def _world():
    company, series, user = f.setup_company()
    p = f.product(
        company, code="HOST", name="Găzduire web cu nume lung de produs", unit_price="250.00"
    )
    cl = f.client(company, name="Client Cu Un Nume Foarte Lung De Societate Comercială SRL")
    c = f.contract(company, issuer=user, client_=cl, lines=[(p, "2")], first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 3, 31, 10, 0))
    inv = c.invoices.order_by("number").first()
    payment_record(
        company=company, client=cl, date=date(2026, 2, 3), amount=inv.gross_total,
        allocations=[(inv, inv.gross_total)], as_of=local(2026, 2, 3, 10), user=user,
    )  # fmt: skip
    return company, user, cl, c, inv


OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"
# The elements that stick out to the right (to name them when a page scrolls sideways).
WIDEST = """Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right
  > window.innerWidth + 1).slice(-5).map(e => e.tagName + '.' + e.className + '#' + e.id)"""


def test_no_page_scrolls_sideways_at_1280_or_390_px(live_server, browser_page):
    page = browser_page
    company, user, cl, c, inv = _world()
    url = live_server.url
    login(page, url, user)
    pages = [
        "/", "/invoices/", f"/invoices/{inv.pk}/", f"/contracts/{c.pk}/", "/contracts/new/",
        f"/clients/{cl.pk}/", "/clients/", "/products/", "/settings/", "/payments/",
        f"/payments/record/?invoice={inv.pk}", "/setup/company/", "/setup/email/", "/setup/done/",
    ]  # fmt: skip
    wide = {}
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        for path in pages:
            response = page.goto(url + path)
            assert response.status == 200, path
            extra = page.evaluate(OVERFLOW)
            if extra > 0:
                wide[(width, path)] = extra
                shot(page, f"overflow-{width}-{path.strip('/').replace('/', '-') or 'home'}")
    assert wide == {}, wide


def test_the_portal_shows_total_and_pdf_on_a_phone(live_server, browser_page):
    from recurent.clients.portal_links import portal_token
    from recurent.documents.services import invoice_render

    page = browser_page
    company, user, cl, c, inv = _world()
    for each in c.invoices.all():
        invoice_render(invoice=each, kinds=("pdf",))
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/portal/{portal_token(cl.pk)}/")
    row = page.locator("#portal-invoices tbody tr").first
    for label in ("Total", "Documente"):
        cell = row.locator(f"td[data-label='{label}']")
        box = cell.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, (label, box)
    assert row.locator("a:has-text('PDF')").is_visible()
    shot(page, "31-portal-phone")
    wide = page.evaluate(WIDEST)
    assert page.evaluate(OVERFLOW) <= 0, wide


def test_the_contract_form_opens_the_tab_with_the_error_and_lists_it(live_server, browser_page):
    page = browser_page
    company, user, cl, c, inv = _world()
    url = live_server.url
    login(page, url, user)
    page.goto(url + "/contracts/new/")
    page.select_option("#id_client", str(cl.pk))
    page.fill("#id_number", "CTR-ERR")
    page.fill("#id_signed_on", "2026-03-20")
    page.fill("#id_first_issue_at", "2026-04-01T09:00")
    page.click("button[data-tab=tab-products]")
    page.select_option(
        "#id_lines-0-product", label="HOST · Găzduire web cu nume lung de produs (RON)"
    )
    page.fill("#id_lines-0-quantity", "2")
    # The next invoices show as the contract is typed: the engine's dates, the typed amount.
    page.wait_for_function("document.querySelectorAll('#next-invoices-rows tr').length >= 6")
    assert "605,00" in page.locator("#next-invoices-rows tr").first.inner_text()
    page.fill("#id_lines-0-quantity", "0")
    page.click("button[data-tab=tab-general]")  # the user goes back to the first tab and saves
    page.click("button[name=save]")
    page.wait_for_selector("#error-summary")
    assert page.locator("#tab-products").is_visible()
    assert not page.locator("#tab-general").is_visible()
    assert page.locator("button[data-tab=tab-products].tab-error").count() == 1
    assert "Linia 1, Cantitate" in page.locator("#error-summary").inner_text()
    shot(page, "30-contract-form-error-banner")
