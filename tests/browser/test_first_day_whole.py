"""Issue 16, "done when": the whole first day on an empty database, in Romanian and in English.

From the installer's first login: the guided set-up (company from ANAF's registry, bank, series,
SMTP with a test message to a real SMTP server on 127.0.0.1), then a recurring contract whose
client and product are made inline, "Issue now", the PDF, a payment, the portal link emailed and
opened, and an unsubscribe from the portal. Screenshots of each step go to
test-output/screenshots/first-day-<lang>-NN-*.png.

Clicks are counted (every click and every choice in a list) for "a recurring contract from
nothing": from the end of the set-up to an issued recurring invoice; the issue allows 12.
"""

import re
from datetime import timedelta
from email import message_from_bytes

import pytest
from django.contrib.auth.models import User

from recurent.common import clock
from recurent.companies.models import Company
from recurent.contracts.models import Contract
from recurent.engine.cycles import BUCHAREST
from recurent.invoices.models import Invoice
from recurent.mail.sender import send_pending
from tests.browser.conftest import CHROMIUM, SHOTS
from tests.efactura.fake_anaf import registry_item
from tests.mail.conftest import SmtpServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "ro": {"dashboard": "Panou", "issued": "Emisă", "paid": "încasată", "step1": "Pasul 1 din 5"},
    "en": {"dashboard": "Dashboard", "issued": "Issued", "paid": "paid", "step1": "Step 1 of 5"},
}


class Clicks:
    """Counts what the user does with the mouse: clicks and choices in a list."""

    def __init__(self, page):
        self.page, self.n = page, 0

    def click(self, selector: str) -> None:
        self.n += 1
        self.page.click(selector)

    def choose(self, selector: str, value: str) -> None:
        self.n += 1
        self.page.select_option(selector, value)


def _body(page) -> str:
    return page.locator("body").inner_text()


@pytest.mark.parametrize("lang", ["ro", "en"])
def test_the_whole_first_day(lang, live_server, anaf, settings):
    from playwright.sync_api import expect, sync_playwright

    settings.RECURENT_BASE_URL = live_server.url
    anaf.registry["18547290"] = registry_item(
        "18547290", "FIRMA NOUA SRL", county="B", locality="Sector 3 Mun. Bucureşti",
        street="Bd. Unirii", number="10",
    )  # fmt: skip
    User.objects.create_superuser("owner", "owner@firma.ro", "parola-lunga-1")
    smtp = SmtpServer().start()
    SHOTS.mkdir(parents=True, exist_ok=True)
    t = TEXT[lang]
    url = live_server.url

    def shot(name: str) -> None:
        page.screenshot(path=str(SHOTS / f"first-day-{lang}-{name}.png"), full_page=True)

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(
            viewport={"width": 1366, "height": 900}, accept_downloads=True,
            locale="ro-RO",
        )  # fmt: skip
        page = context.new_page()
        page.set_default_timeout(15000)
        try:
            # --- First login: the set-up opens, not "no company".
            page.goto(url + "/")
            if lang == "en":  # Romanian unless the user picks English (the header's switch)
                page.click("button[name=language][value=en]")
                page.wait_for_selector("#id_username")
            page.fill("#id_username", "owner")
            page.fill("#id_password", "parola-lunga-1")
            page.click("button[type=submit]")
            page.wait_for_selector("#setup-step-company")
            assert t["step1"] in _body(page)
            shot("01-setup-company")

            # Company: the CUI typed, ANAF's registry fills the rest (a Bucharest sector).
            page.fill("#id_cui", "RO18547290")
            page.dispatch_event("#id_cui", "change")
            expect(page.locator("#id_legal_name")).to_have_value("FIRMA NOUA SRL")
            assert page.input_value("#id_county") == "RO-B"
            assert (page.input_value("#id_city"), page.input_value("#id_sector")) == (
                "București",
                "3",
            )
            page.fill("#id_email", "office@firma.ro")
            shot("02-setup-company-filled")
            page.click("#setup-save")

            # Bank account, series (FCT suggested), email with a test message, e-Factura later.
            page.wait_for_selector("#setup-step-bank")
            page.fill("#id_iban", "RO66BACX0000001234567890")
            page.fill("#id_bank", "UniCredit")
            page.click("#setup-save")
            page.wait_for_selector("#setup-step-series")
            assert page.input_value("#id_code") == "FCT"
            page.click("#setup-save")
            assert Company.objects.get().city == "SECTOR3"  # what the invoice prints
            page.wait_for_selector("#setup-step-email")
            page.fill("#id_host", "127.0.0.1")
            page.fill("#id_port", str(smtp.port))
            page.select_option("#id_security", "none")
            page.fill("#id_from_email", "facturi@firma.ro")
            page.click("#setup-save")
            page.click("#setup-test-email")
            page.wait_for_selector("#test-answer.alert-success")
            assert [m.rcpt_tos for m in smtp.received] == [["owner@firma.ro"]]
            shot("03-setup-email-tested")
            page.click("#setup-skip")
            page.wait_for_selector("#setup-step-efactura")
            page.click("#setup-next")
            page.wait_for_selector("#setup-first-contract")
            shot("04-setup-done")

            # --- A recurring contract from nothing, client and product made inline.
            clicks = Clicks(page)
            clicks.click("#setup-first-contract")
            page.wait_for_selector("#contract-form")
            assert page.input_value("#id_number")  # a number is suggested
            clicks.click("#new-client")
            page.fill("#id_qc-name", "Client Nou SRL")
            page.fill("#id_qc-tax_id", "RO18547290")
            page.fill("#id_qc-street", "Str. Mare 2")
            page.fill("#id_qc-city", "Cluj-Napoca")
            clicks.choose("#id_qc-county", "RO-CJ")
            page.fill("#id_qc-emails", "contabil@clientnou.ro")
            shot("05-new-client-dialog")
            clicks.click("#quick-client-save")
            expect(page.locator("#id_client")).not_to_have_value("")
            first = (clock.now() - timedelta(hours=1)).astimezone(BUCHAREST)
            page.fill("#id_first_issue_at", first.strftime("%Y-%m-%dT%H:%M"))
            clicks.click("button[data-tab=tab-products]")
            clicks.click("#new-product")
            page.fill("#id_qp-code", "ABON")
            page.fill("#id_qp-name", "Abonament lunar")
            page.fill("#id_qp-unit_price", "100")
            clicks.choose("#id_qp-unit_code", "MON")
            clicks.click("#quick-product-save")
            expect(page.locator("#id_lines-0-product")).not_to_have_value("")
            assert page.locator("#sum-gross").inner_text() in {"121,00", "121.00"}
            shot("06-contract-form")
            clicks.click("button[name=activate]")
            page.wait_for_selector("#issue-now")
            clicks.click("#issue-now")
            page.wait_for_selector("a[href^='/invoices/']")
            contract = Contract.objects.get()
            invoice = Invoice.objects.get(contract=contract)
            assert invoice.full_number == "FCT-000001" and str(invoice.gross_total) == "121.00"
            assert clicks.n <= 12, clicks.n  # 10 today (docs/guide-owner.md)
            shot("07-contract-issued")

            # --- The invoice and its PDF.
            page.click(f"a[href='/invoices/{invoice.pk}/']")
            page.wait_for_selector(f"h1:has-text('{invoice.full_number}')")
            assert t["issued"] in _body(page)
            with page.expect_download() as dl:
                page.click("a[download]")
            with open(dl.value.path(), "rb") as fh:
                assert fh.read(5) == b"%PDF-"
            shot("08-invoice")

            # --- A payment of the whole invoice.
            page.click(f"a[href*='/payments/record/invoice/{invoice.pk}/']")
            page.wait_for_selector("#amount")
            page.click("form button.btn-primary[type=submit]")
            page.wait_for_load_state()
            page.goto(url + f"/invoices/{invoice.pk}/")
            assert t["paid"] in _body(page).lower()
            shot("09-paid")

            # --- The portal link, emailed to the client and opened from the message.
            page.goto(url + f"/contracts/{contract.pk}/")
            page.click("#portal-link form button[type=submit]")
            page.wait_for_load_state()
            sent = len(smtp.received)
            assert send_pending(limit=10) >= 1  # what the worker does every few seconds
            msg = message_from_bytes(smtp.received[sent].content)
            assert smtp.received[sent].rcpt_tos == ["contabil@clientnou.ro"]
            text = next(
                part.get_payload(decode=True).decode()
                for part in msg.walk()
                if part.get_content_type() == "text/plain"
            )
            link = re.search(r"(http://\S+/portal/\S+)", text).group(1)
            assert link.startswith(url)
            page.goto(link)
            assert invoice.full_number in _body(page)
            shot("10-portal")

            # --- Unsubscribe from the portal (after confirming).
            page.once("dialog", lambda d: d.accept())
            page.click(f"form[action$='/contracts/{contract.pk}/unsubscribe/'] button[type=submit]")
            page.wait_for_load_state()
            shot("11-unsubscribed")
            contract.refresh_from_db()
            assert contract.final_index is not None
        finally:
            context.close()
            browser.close()
            smtp.stop()
