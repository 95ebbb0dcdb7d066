"""A pay link: the client opens it, pays on the provider's hosted page, the provider notifies
Recurent, and the invoice is paid — for Stripe and for NETOPIA, through the stand-ins."""

from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from recurent.gateways.links import pay_url
from recurent.gateways.models import CardAgreement, GatewayEvent, GatewayPayment, PaySession
from recurent.payments import selectors as pay
from recurent.payments.models import Payment
from tests.gateways.standins import unflatten
from tests.payments.helpers import issued


def _path(url):
    return urlsplit(url).path


def _open_and_start(client, inv, account, **form):
    page = client.get(_path(pay_url(inv.pk)))
    assert page.status_code == 200
    assert inv.full_number in page.content.decode()
    r = client.post(_path(pay_url(inv.pk)), {"account": account.pk, **form})
    assert r.status_code == 302, r.content.decode()[:500]
    return r["Location"]


def test_stripe_pay_link_to_hosted_page_to_webhook_pays_the_invoice(
    world, stripe_account, stripe_fake, client, deliver
):
    # Given an issued invoice of 121 RON
    _, [inv] = issued(world)
    assert pay.outstanding(inv) == Decimal("121.00")
    # When the client opens the pay link and chooses Stripe
    hosted = _open_and_start(client, inv, stripe_account)
    # Then Stripe's hosted page is opened for the outstanding amount in the invoice currency
    assert hosted.startswith(stripe_fake.base + "/checkout/")
    [created] = [c for c in stripe_fake.calls if c["path"] == "/v1/checkout/sessions"]
    params = unflatten(parse_qsl(created["body"].decode()))
    assert params["line_items"][0]["price_data"] == {
        "currency": "ron",
        "unit_amount": "12100",
        "product_data": {"name": params["line_items"][0]["price_data"]["product_data"]["name"]},
    }
    assert inv.full_number in params["line_items"][0]["price_data"]["product_data"]["name"]
    assert created["headers"].get("Idempotency-Key")
    # When the client pays there (the stand-in's page) and Stripe sends its webhook
    r = requests.post(hosted, allow_redirects=False, timeout=10)
    assert r.status_code == 303 and "/done/" in r.headers["Location"]
    [(status, answer)] = deliver(stripe_fake, stripe_account)
    # Then the invoice is paid by one card payment
    assert status == 200 and answer == {"received": True}
    assert pay.outstanding(inv) == 0
    [p] = Payment.objects.filter(client=inv.client)
    assert p.amount == Decimal("121.00") and p.method == "card" and p.currency == "RON"
    assert GatewayPayment.objects.get().flag == ""
    done = client.get(_path(r.headers["Location"]))
    assert 'id="paid"' in done.content.decode()


def test_netopia_pay_link_to_hosted_page_to_ipn_pays_the_invoice(
    world, netopia_account, netopia_fake, client, deliver
):
    _, [inv] = issued(world)
    hosted = _open_and_start(client, inv, netopia_account)
    assert hosted.startswith(netopia_fake.base + "/pay/")
    [start] = [c for c in netopia_fake.calls if c["path"] == "/payment/card/start"]
    assert start["headers"]["Authorization"] == netopia_fake.api_key
    order = __import__("json").loads(start["body"])["order"]
    assert order["amount"] == 121.0 and order["currency"] == "RON"
    r = requests.post(hosted, allow_redirects=False, timeout=10)
    assert r.status_code == 303
    [(status, answer)] = deliver(netopia_fake, netopia_account)
    assert status == 200 and answer["errorType"] == 0
    assert pay.outstanding(inv) == 0
    assert Payment.objects.get(client=inv.client).reference.startswith("NETOPIA")


def test_a_paid_invoice_offers_nothing_to_pay(world, stripe_account, stripe_fake, client, deliver):
    _, [inv] = issued(world)
    requests.post(_open_and_start(client, inv, stripe_account), allow_redirects=False, timeout=10)
    deliver(stripe_fake, stripe_account)
    page = client.get(_path(pay_url(inv.pk)))
    assert 'id="nothing-due"' in page.content.decode()
    again = client.post(_path(pay_url(inv.pk)), {"account": stripe_account.pk})
    assert again.status_code == 200 and PaySession.objects.count() == 1


def test_a_forged_pay_link_is_not_found(world, client):
    _, [inv] = issued(world)
    bad = _path(pay_url(inv.pk)).replace(":", ":x", 1)
    assert client.get(bad).status_code == 404


@pytest.mark.parametrize("provider", ["stripe", "netopia"])
def test_paying_with_the_agreement_saves_the_card_for_the_contract(
    world, provider, request, client, deliver
):
    fake = request.getfixturevalue(f"{provider}_fake")
    account = request.getfixturevalue(f"{provider}_account")
    _, [inv] = issued(world)
    hosted = _open_and_start(client, inv, account, save_card="1", consent_name="Ana Pop")
    requests.post(hosted, allow_redirects=False, timeout=10)
    deliver(fake, account)
    ag = CardAgreement.objects.get()
    assert ag.contract_id == inv.contract_id and ag.status == "active"
    assert ag.client_name == "Ana Pop" and ag.consent_ip == "127.0.0.1"
    assert inv.contract.number in ag.consent_text
    assert ag.last4 and ag.exp_year == 2030 and ag.brand
    assert "tok_" not in ag.token_encrypted and "pm_" not in ag.token_encrypted  # encrypted at rest
    assert GatewayEvent.objects.count() == 1


def test_the_agreement_needs_the_clients_name(world, stripe_account, client):
    _, [inv] = issued(world)
    r = client.post(_path(pay_url(inv.pk)), {"account": stripe_account.pk, "save_card": "1"})
    assert r.status_code == 400 and PaySession.objects.count() == 0


def test_the_pay_page_lets_its_form_lead_to_the_processors_page_only(
    world, stripe_account, stripe_fake, client
):
    _, [inv] = issued(world)
    csp = client.get(_path(pay_url(inv.pk)))["Content-Security-Policy"]
    form_action = next(d for d in csp.split("; ") if d.startswith("form-action"))
    assert form_action == f"form-action 'self' https://checkout.stripe.com {stripe_fake.base}"
    assert "script-src 'self' 'nonce-" in csp
