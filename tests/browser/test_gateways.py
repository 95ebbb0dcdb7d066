"""Online payment in a real browser, for both processors: the client opens the pay link, pays on
the processor's page (the local stand-in), the processor notifies Recurent, and the invoice is
shown paid."""

from urllib.parse import urlsplit

import pytest

from recurent.gateways import services
from recurent.gateways.links import pay_url
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from recurent.payments import selectors as pay
from tests import factories as f
from tests.browser.conftest import shot
from tests.factories import local
from tests.gateways.standins import FakeNetopia, FakeStripe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("provider", ["stripe", "netopia"])
def test_pay_link_to_hosted_page_to_notification_to_paid(
    live_server, browser_page, settings, provider
):
    page = browser_page
    settings.RECURENT_PUBLIC_URL = live_server.url
    company, _, user = f.setup_company()
    contract = f.contract(company, issuer=user, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 2, 1))
    inv = Invoice.objects.get(contract=contract)
    fake = (FakeStripe() if provider == "stripe" else FakeNetopia()).start()
    try:
        if provider == "stripe":
            account = services.account_save(
                company=company, provider="stripe", enabled=True, test_mode=True,
                api_base=fake.base, secret=fake.api_key, webhook_secret=fake.webhook_secret,
            )  # fmt: skip
        else:
            account = services.account_save(
                company=company, provider="netopia", enabled=True, test_mode=True,
                api_base=fake.base, secret=fake.api_key, pos_signature=fake.pos_signature,
                public_key=fake.public_key,
            )  # fmt: skip
        # The processor notifies the running Recurent, as it would in production.
        fake.deliver_to = services.notify_url(account)

        page.goto(live_server.url + urlsplit(pay_url(inv.pk)).path)
        assert inv.full_number in page.locator("body").inner_text()
        shot(page, f"gateways-{provider}-01-pay-link")
        page.click(f"#pay-{provider}")
        # Waits for the navigation itself (load state alone can answer for the old page).
        page.wait_for_url(lambda url: url.startswith(fake.base))
        assert page.url.startswith(fake.base)  # the processor's own page: the card is typed there
        shot(page, f"gateways-{provider}-02-hosted")
        page.click("#pay")
        page.wait_for_url("**/done/")
        assert "/done/" in page.url
        assert page.locator("#paid").count() == 1
        shot(page, f"gateways-{provider}-03-paid")
        assert pay.outstanding(inv) == 0
        assert len(fake.outbox) == 1 and len(fake.charges) == 1
    finally:
        fake.stop()
