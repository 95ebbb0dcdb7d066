"""Issue #18's grouped invoice in a real browser: the client's option ticked on its form, two of
its contracts due together become one invoice whose lines name their contract and period, and
the storno page reverses one contract's line group."""

from decimal import Decimal

import pytest

from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.browser.conftest import shot
from tests.browser.test_documents_flows import _login
from tests.factories import local

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_grouped_invoice_is_set_up_issued_and_reversed_per_contract(live_server, browser_page):
    page, url = browser_page, live_server.url
    company, _series, user = f.setup_company()
    cl = f.client(company)
    a, b = (f.contract(company, issuer=user, client_=cl, first=local(2026, 1, 31)) for _ in "ab")
    _login(page, url, user)

    page.goto(url + f"/clients/{cl.pk}/edit/")
    page.check("input[name=one_invoice_per_client]")
    page.click("form button.btn-primary[type=submit]")
    page.wait_for_load_state()
    cl.refresh_from_db()
    assert cl.one_invoice_per_client

    assert issue_due(as_of=local(2026, 1, 31, 10)).issued == 1
    inv = Invoice.objects.get()
    page.goto(url + f"/invoices/{inv.pk}/")
    body = page.locator("body").inner_text()
    assert a.number in body and b.number in body  # each line group names its contract
    shot(page, "documents-05-grouped-invoice")

    page.goto(url + f"/invoices/{inv.pk}/storno/")
    page.check("input[name=mode][value=group]")
    page.select_option("#storno-contract", str(b.pk))
    page.once("dialog", lambda d: d.accept())
    page.click("#storno-form button.btn-danger")
    page.wait_for_url("**/invoices/*/")
    credit = Invoice.objects.get(credited_invoice=inv)
    assert {li.contract_id for li in credit.lines.all()} == {b.pk}
    assert credit.gross_total == -inv.gross_total / 2 == Decimal("-121.00")
