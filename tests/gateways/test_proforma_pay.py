"""Online payment of a proforma: the provider's hosted page (Stripe and NETOPIA stand-ins), the
notification, and the payment recorded against the proforma so that its invoice is issued."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from recurent.gateways.models import GatewayEvent, GatewayPayment, PaySession
from recurent.gateways.proforma_pay import proforma_left, proforma_pay_start
from recurent.invoices.models import Invoice, InvoiceDraft
from recurent.invoices.proforma_period import proformas_expire
from recurent.invoices.services import issue_due
from recurent.payments import selectors as pay
from recurent.payments.models import Payment
from tests import factories as f
from tests.factories import local

RUN_AT = local(2026, 2, 2, 9)  # the contract's first period is due 2026-01-31 09:00
PAY_AT = local(2026, 2, 3, 10)


def _proforma(world) -> InvoiceDraft:  # type: ignore[no-untyped-def]
    f.contract(world.company, issuer=world.user, proforma_first=True)
    issue_due(as_of=RUN_AT)
    return InvoiceDraft.objects.get()


def _pay_hosted(url: str) -> None:
    r = requests.post(url, allow_redirects=False, timeout=10)
    assert r.status_code == 303 and "/done/" in r.headers["Location"]


@pytest.mark.parametrize("provider", ["stripe", "netopia"])
def test_paying_a_proforma_online_issues_its_invoice_paid(world, provider, request, deliver):
    fake = request.getfixturevalue(f"{provider}_fake")
    account = request.getfixturevalue(f"{provider}_account")
    d = _proforma(world)
    assert proforma_left(d) == Decimal("121.00") and Invoice.objects.count() == 0
    checkout = proforma_pay_start(proforma=d, account=account, as_of=PAY_AT)
    session = PaySession.objects.get()
    assert (session.proforma_id, session.invoice_id, session.amount) == (d.pk, None, 121)
    _pay_hosted(checkout.url)
    [(status, _answer)] = deliver(fake, account)
    assert status == 200
    d.refresh_from_db()
    inv = Invoice.objects.get()  # issued by the payment, through proforma_payment_record
    assert d.invoice_id == inv.pk and inv.contract_id == d.contract_id
    assert pay.outstanding(inv) == 0
    p = Payment.objects.get()
    assert (p.proforma_id, p.method, p.source, p.amount) == (d.pk, "card", "online", 121)
    gp = GatewayPayment.objects.get()
    assert (gp.proforma_id, gp.invoice_id, gp.payment_id, gp.flag) == (d.pk, inv.pk, p.pk, "")
    assert GatewayEvent.objects.get().outcome == "recorded"
    assert proforma_left(d) == 0


def test_a_notification_sent_twice_records_one_payment(world, stripe_fake, stripe_account, deliver):
    d = _proforma(world)
    _pay_hosted(proforma_pay_start(proforma=d, account=stripe_account, as_of=PAY_AT).url)
    queued = list(stripe_fake.outbox)
    deliver(stripe_fake, stripe_account)
    deliver(stripe_fake, stripe_account, only=queued)  # the provider sends it again
    assert Payment.objects.count() == 1 and Invoice.objects.count() == 1


def test_a_proforma_paid_or_expired_offers_nothing_to_pay(world, stripe_account):
    d = _proforma(world)
    proformas_expire(limit=10, as_of=local(2026, 3, 1, 9))
    d.refresh_from_db()
    assert d.proforma_expired_at is not None and proforma_left(d) == 0
    with pytest.raises(Exception) as e:
        proforma_pay_start(proforma=d, account=stripe_account, as_of=PAY_AT)
    assert "proforma" in getattr(e.value, "message_dict", {})
    assert PaySession.objects.count() == 0


def test_a_proforma_expired_while_its_page_was_open_keeps_the_money_as_credit(
    world, stripe_fake, stripe_account, deliver
):
    d = _proforma(world)
    url = proforma_pay_start(proforma=d, account=stripe_account, as_of=PAY_AT).url
    InvoiceDraft.objects.filter(pk=d.pk).update(proforma_expired_at=PAY_AT)
    _pay_hosted(url)
    [(status, _answer)] = deliver(stripe_fake, stripe_account)
    assert status == 200 and Invoice.objects.count() == 0
    p = Payment.objects.get()
    assert p.proforma_id == d.pk and p.amount == Decimal("121.00")  # waits as credit
    gp = GatewayPayment.objects.get()
    assert gp.invoice_id is None and "expired" in gp.flag and "credit" in gp.flag
    assert GatewayEvent.objects.get().outcome == "flagged"


def test_the_pay_page_starts_the_payment_and_a_forged_link_is_not_found(
    world, stripe_fake, stripe_account, client, deliver
):
    from urllib.parse import urlsplit

    from recurent.gateways.proforma_pay import proforma_pay_url

    d = _proforma(world)
    path = urlsplit(proforma_pay_url(d.pk)).path
    page = client.get(path)
    assert page.status_code == 200 and "PF-000001" in page.content.decode()
    assert 'id="amount-due"' in page.content.decode()
    r = client.post(path, {"account": stripe_account.pk})
    assert r.status_code == 302 and r["Location"].startswith(stripe_fake.base + "/checkout/")
    _pay_hosted(r["Location"])
    deliver(stripe_fake, stripe_account)
    assert 'id="paid"' in client.get(path).content.decode()
    assert client.get(path.replace(":", ":x", 1)).status_code == 404


def test_the_proforma_email_carries_its_pay_link_when_a_provider_is_enabled(world, stripe_account):
    from recurent.gateways.proforma_pay import proforma_pay_url
    from recurent.mail.models import OutboxMessage

    f.contract(world.company, issuer=world.user, proforma_first=True, auto_email=True)
    issue_due(as_of=RUN_AT)
    d = InvoiceDraft.objects.get()
    body = OutboxMessage.objects.get().body_text
    assert proforma_pay_url(d.pk) in body and "card" in body  # Romanian: "cu cardul"


def test_no_pay_link_in_the_email_without_an_enabled_provider(world):
    from recurent.mail.models import OutboxMessage

    f.contract(world.company, issuer=world.user, proforma_first=True, auto_email=True)
    issue_due(as_of=RUN_AT)
    assert "/gateways/" not in OutboxMessage.objects.get().body_text


def test_a_refund_of_a_proforma_payment_reverses_it_and_reopens_the_invoice(
    world, stripe_fake, stripe_account, deliver
):
    d = _proforma(world)
    _pay_hosted(proforma_pay_start(proforma=d, account=stripe_account, as_of=PAY_AT).url)
    deliver(stripe_fake, stripe_account)
    inv = Invoice.objects.get()
    assert pay.outstanding(inv) == 0
    stripe_fake.refund(next(iter(stripe_fake.intents)))
    deliver(stripe_fake, stripe_account)
    assert Payment.objects.get().reversed and GatewayPayment.objects.get().refunded
    assert pay.outstanding(inv) == Decimal("121.00")
