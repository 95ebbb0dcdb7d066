"""The client portal in a real browser: one client's invoices, a change of quantity from the
next period, unsubscribing at the end of the paid period, and refused links."""

from decimal import Decimal

import pytest
from django.urls import reverse

from recurent.clients.portal_links import portal_token
from recurent.contracts.models import Contract
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.browser.conftest import shot
from tests.factories import local

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_client_changes_and_unsubscribes_from_the_portal(live_server, browser_page):
    page = browser_page
    company, _, user = f.setup_company()
    p = f.product(company, unit_price=Decimal("100"))
    mine = f.contract(company, issuer=user, lines=[(p, "2")], first=local(2026, 1, 31))
    other = f.contract(company, issuer=user, lines=[(p, "1")], first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 2, 1))
    my_invoice = Invoice.objects.get(contract=mine)
    other_invoice = Invoice.objects.get(contract=other)
    home = live_server.url + reverse("portal:home", kwargs={"token": portal_token(mine.client_id)})

    # The client sees their invoice and not the other client's.
    page.goto(home)
    body = page.locator("body").inner_text()
    assert mine.client.name in body and my_invoice.full_number in body
    assert other.client.name not in body and other_invoice.full_number not in body
    shot(page, "portal-01-home")

    # A new quantity applies from the next period; the invoiced one keeps its lines. (Only a
    # line the company made self-service has a quantity field.)
    line = mine.lines.get()
    line.self_service = True
    line.save()
    page.reload()
    page.fill(f"input[name=qty_{line.pk}]", "3")
    page.locator(f"form[action$='/contracts/{mine.pk}/change/'] button[type=submit]").click()
    page.wait_for_load_state()
    shot(page, "portal-02-changed")
    current = mine.lines.filter(until_index__isnull=True).get()
    assert current.quantity == Decimal("3") and current.from_index == 1
    assert mine.changes.filter(action="lines_changed", actor="portal").exists()

    # Unsubscribing (after confirming) ends the contract at the end of the paid period.
    page.once("dialog", lambda d: d.accept())
    page.locator(f"form[action$='/contracts/{mine.pk}/unsubscribe/'] button[type=submit]").click()
    page.wait_for_load_state()
    shot(page, "portal-03-unsubscribed")
    mine = Contract.objects.get(pk=mine.pk)
    assert mine.final_index is not None and mine.changes.filter(actor="portal").count() >= 2

    # Another client's invoice through my link, and a tampered link, are refused.
    r = page.goto(home + f"invoices/{other_invoice.pk}/pdf/")
    assert r.status == 404
    r = page.goto(home.rstrip("/") + "x/")
    assert r.status in (403, 404)
