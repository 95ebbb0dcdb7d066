"""The screens added after the seed workflow, in a real browser: the client form filled from ANAF's
registry, e-Factura on the invoice page and the dashboard, a partial storno, users, API tokens;
desktop and phone screenshots."""

import pytest

from recurent.efactura.models import EfacturaState, EState
from recurent.invoices.models import Invoice, InvoiceKind
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.browser.conftest import shot
from tests.efactura.fake_anaf import registry_item
from tests.factories import local

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, url, user):
    page.goto(url + "/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-" + user.username)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Panou')")


def test_registry_autofill_efactura_storno_users_and_tokens(
    live_server, browser_page, anaf, settings
):
    page = browser_page
    page.on("dialog", lambda d: d.accept())  # the confirmations of storno, revoke…
    company, series, user = f.setup_company()
    url = live_server.url
    login(page, url, user)

    # The client form fills itself from ANAF's registry (a local stand-in) by CUI.
    anaf.registry["14399840"] = registry_item("14399840", "GAMMA SOFT SRL", county="CJ")
    page.goto(url + "/clients/new/")
    page.fill("#id_tax_id", "RO14399840")
    page.click("#registry-fill")
    page.wait_for_selector(".registry-ok")
    assert page.input_value("#id_name") == "GAMMA SOFT SRL"
    assert page.input_value("#id_county") == "RO-CJ"
    shot(page, "20-client-form-from-anaf")
    page.click("button:has-text('Salvează')")
    page.wait_for_selector("h1:has-text('GAMMA SOFT SRL')")
    # A CUI the registry does not know: the form says so and stays usable.
    page.goto(url + "/clients/new/")
    page.fill("#id_tax_id", "RO13548146")
    page.click("#registry-fill")
    page.wait_for_selector("text=Registrul ANAF nu cunoaște acest CUI.")
    # ANAF unreachable (nothing listens on the port): the form says so and is filled by hand.
    settings.RECURENT_EFACTURA = {**anaf.settings(), "REGISTRY_URL": "http://127.0.0.1:9/tva"}
    page.fill("#id_tax_id", "RO1590082")
    page.click("#registry-fill")
    page.wait_for_selector("text=Registrul ANAF nu a răspuns; completați câmpurile manual.")
    assert page.input_value("#id_name") == ""
    settings.RECURENT_EFACTURA = anaf.settings()

    # An invoice with two lines; ANAF rejected an earlier one.
    a = f.product(company, code="HOST", name="Găzduire", unit_price="100.00")
    b = f.product(company, code="SUP", name="Suport", unit_price="50.00")
    f.contract(company, issuer=user, lines=[(a, "3"), (b, "1")], first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 2, 28, 10, 0))
    first, second = Invoice.objects.order_by("number")
    EfacturaState.objects.update_or_create(invoice=first, defaults={
        "company": company, "state": EState.REJECTED,
        "errors": ["Rule BR-RO-110: Adresa cumparatorului trebuie sa contina strada"],
    })  # fmt: skip
    page.goto(url + f"/invoices/{first.pk}/")
    page.wait_for_selector("#efactura-errors")
    assert "BR-RO-110" in page.locator("#efactura-errors").inner_text()
    assert page.locator("#efactura-send").inner_text() == "Trimite din nou în e-Factura"
    shot(page, "21-invoice-efactura-rejected")
    page.goto(url + "/invoices/?efactura=rejected")
    assert page.locator("td.mono a").all_inner_texts() == [first.full_number]
    shot(page, "22-invoices-efactura-filter")

    # Partial storno of the second invoice: two of the three hosting months.
    page.goto(url + f"/invoices/{second.pk}/")
    page.click("a:has-text('Stornează')")
    page.wait_for_selector("#storno-form")
    page.check("input[name=mode][value=lines]")
    host = second.lines.get(position=1)
    page.fill(f"#qty-{host.pk}", "2")
    shot(page, "23-storno-form")
    page.click("button:has-text('Emite factura storno')")
    page.wait_for_selector("h1:has-text('Factură storno')")
    credit = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert credit.gross_total < 0 and credit.credited_invoice_id == second.pk
    shot(page, "24-credit-note")
    page.click(f"a:has-text('{second.full_number}')")
    page.wait_for_selector(f"text={credit.full_number}")

    # The dashboard lists the rejection.
    page.goto(url + "/")
    box = page.locator("#efactura-attention")
    assert first.full_number in box.inner_text()
    shot(page, "25-dashboard-attention")

    # Users: add an accountant with a password, then make them a viewer.
    page.goto(url + "/settings/users/")
    page.fill("#id_email", "ana@firma.ro")
    page.fill("#id_first_name", "Ana")
    page.fill("#id_last_name", "Pop")
    page.select_option("#id_role", "accountant")
    page.fill("#id_password", "o-parola-buna-2026")
    page.click("button:has-text('Adaugă')")
    page.wait_for_selector("tr[data-user='ana@firma.ro']")
    row = page.locator("tr[data-user='ana@firma.ro']")
    row.locator("select").select_option("viewer")
    row.locator("button:has-text('Schimbă')").click()
    page.wait_for_selector("text=are acum rolul")
    shot(page, "26-users")

    # API tokens: shown once, then revoked.
    page.goto(url + "/settings/api-tokens/")
    page.fill("#id_name", "export contabilitate")
    page.click("button:has-text('Creează tokenul')")
    page.wait_for_selector("#token-secret")
    assert page.locator("#token-secret").inner_text().startswith("rct_")
    shot(page, "27-api-token-created")
    page.click("button:has-text('Revocă')")
    page.wait_for_selector("text=Tokenul export contabilitate a fost revocat.")

    # Phone-sized screens.
    page.set_viewport_size({"width": 390, "height": 844})
    for name, path in [
        ("28-invoice-phone", f"/invoices/{first.pk}/"),
        ("29-storno-phone", f"/invoices/{second.pk}/storno/"),
        ("30-users-phone", "/settings/users/"),
        ("31-dashboard-phone", "/"),
    ]:
        page.goto(url + path)
        shot(page, name)
        # Nothing wider than the phone: wide tables scroll inside their own box.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
