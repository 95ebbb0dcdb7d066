"""Notifications are verified, recorded once, and survive duplicates, reordering, other amounts,
refunds and forgeries."""

import json
import logging
from decimal import Decimal
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from recurent.gateways.links import pay_url
from recurent.gateways.models import GatewayEvent, GatewayPayment
from recurent.payments import selectors as pay
from recurent.payments.models import Payment
from tests.payments.helpers import issued


def _start(client, inv, account):
    path = urlsplit(pay_url(inv.pk)).path
    r = client.post(path, {"account": account.pk})
    assert r.status_code == 302
    return r["Location"]


@pytest.fixture
def stripe_paid(world, stripe_account, stripe_fake, client):
    """An invoice paid at the Stripe stand-in; its webhook waiting in the stand-in's outbox."""
    _, [inv] = issued(world)
    hosted = _start(client, inv, stripe_account)
    requests.post(hosted, allow_redirects=False, timeout=10)
    return inv


def test_the_same_webhook_twice_records_one_payment(
    stripe_paid, stripe_account, stripe_fake, deliver
):
    event = list(stripe_fake.outbox)
    first = deliver(stripe_fake, stripe_account, only=event)
    second = deliver(stripe_fake, stripe_account, only=event)
    assert first[0][0] == second[0][0] == 200
    assert Payment.objects.count() == 1 and GatewayEvent.objects.count() == 1
    assert pay.outstanding(stripe_paid) == 0


def test_two_events_for_one_payment_record_it_once(
    stripe_paid, stripe_account, stripe_fake, deliver
):
    # Stripe may announce the same PaymentIntent again under a new event id.
    pi = json.loads(stripe_fake.outbox[0][0])["data"]["object"]
    stripe_fake.event("payment_intent.succeeded", pi)
    deliver(stripe_fake, stripe_account)
    assert GatewayEvent.objects.count() == 2 and Payment.objects.count() == 1
    assert sorted(GatewayEvent.objects.values_list("outcome", flat=True)) == [
        "duplicate",
        "recorded",
    ]


def test_a_refund_reverses_the_payment_and_reopens_the_invoice(
    stripe_paid, stripe_account, stripe_fake, deliver
):
    deliver(stripe_fake, stripe_account)
    pi = next(iter(stripe_fake.intents))
    stripe_fake.refund(pi)
    deliver(stripe_fake, stripe_account)
    p = Payment.objects.get()
    assert p.reversed and "Stripe" in p.reversed_reason
    assert pay.outstanding(stripe_paid) == Decimal("121.00")
    assert GatewayPayment.objects.get().refunded


def test_a_refund_notified_before_its_payment_still_ends_reversed(
    stripe_paid, stripe_account, stripe_fake, deliver
):
    paid = list(stripe_fake.outbox)
    stripe_fake.outbox.clear()
    stripe_fake.refund(next(iter(stripe_fake.intents)))
    deliver(stripe_fake, stripe_account)  # the refund arrives first
    assert Payment.objects.count() == 0
    deliver(stripe_fake, stripe_account, only=paid)  # then the payment, late
    p = Payment.objects.get()
    assert p.reversed and pay.outstanding(stripe_paid) == Decimal("121.00")


def test_a_partial_refund_is_flagged_for_a_person(
    stripe_paid, stripe_account, stripe_fake, deliver
):
    deliver(stripe_fake, stripe_account)
    stripe_fake.refund(next(iter(stripe_fake.intents)), amount=2100)
    deliver(stripe_fake, stripe_account)
    assert not Payment.objects.get().reversed
    assert "partial refund" in GatewayPayment.objects.get().flag


def test_a_different_amount_is_recorded_and_flagged(
    world, stripe_account, stripe_fake, client, deliver
):
    _, [inv] = issued(world)
    hosted = _start(client, inv, stripe_account)
    sid = urlsplit(hosted).path.rsplit("/", 1)[1]
    stripe_fake.pay_session(sid, amount=10000)  # 100.00 paid where 121.00 was asked
    deliver(stripe_fake, stripe_account)
    gp = GatewayPayment.objects.get()
    assert "100.00 RON" in gp.flag and "121.00" in gp.flag
    assert pay.outstanding(inv) == Decimal(
        "21.00"
    )  # what was paid is allocated, the rest stays due
    assert GatewayEvent.objects.get().outcome == "flagged"


def test_more_than_due_is_kept_as_credit_and_flagged(
    world, stripe_account, stripe_fake, client, deliver
):
    _, [inv] = issued(world)
    sid = urlsplit(_start(client, inv, stripe_account)).path.rsplit("/", 1)[1]
    stripe_fake.pay_session(sid, amount=15000)
    deliver(stripe_fake, stripe_account)
    assert pay.outstanding(inv) == 0
    assert pay.unallocated(Payment.objects.get()) == Decimal("29.00")
    assert "credit" in GatewayPayment.objects.get().flag


def test_a_forged_stripe_signature_is_refused_and_logged(
    stripe_paid, stripe_account, stripe_fake, client, caplog
):
    body, headers = stripe_fake.outbox[0]
    forged = stripe_fake.sign(body, secret="whsec_not_the_right_one")
    with caplog.at_level(logging.WARNING, logger="recurent.gateways.services"):
        r = client.post(f"/gateways/notify/{stripe_account.pk}/", data=body,
                        content_type="application/json", HTTP_STRIPE_SIGNATURE=forged)  # fmt: skip
    assert r.status_code == 400
    assert Payment.objects.count() == 0 and GatewayEvent.objects.count() == 0
    assert "refused a notification" in caplog.text
    # A changed body under the right header is refused too.
    r = client.post(f"/gateways/notify/{stripe_account.pk}/", data=body.replace(b"12100", b"99999"),
                    content_type="application/json", HTTP_STRIPE_SIGNATURE=headers["Stripe-Signature"])  # fmt: skip
    assert r.status_code == 400 and Payment.objects.count() == 0


def test_an_old_stripe_signature_is_refused(stripe_paid, stripe_account, stripe_fake, client):
    body, _ = stripe_fake.outbox[0]
    old = stripe_fake.sign(body, t=1_000_000_000)
    r = client.post(f"/gateways/notify/{stripe_account.pk}/", data=body,
                    content_type="application/json", HTTP_STRIPE_SIGNATURE=old)  # fmt: skip
    assert r.status_code == 400 and Payment.objects.count() == 0


def test_a_forged_netopia_ipn_is_refused_and_logged(
    world, netopia_account, netopia_fake, client, caplog
):
    _, [inv] = issued(world)
    hosted = _start(client, inv, netopia_account)
    netopia_fake.pay(urlsplit(hosted).path.rsplit("/", 1)[1])
    body, _ = netopia_fake.outbox[0]
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with caplog.at_level(logging.WARNING, logger="recurent.gateways.services"):
        for token in (netopia_fake.sign(body, key=stranger),  # someone else's key
                      netopia_fake.sign(body, aud="ANOTHER-POS"),  # another shop's IPN
                      netopia_fake.sign(b"{}"),  # a signature of another body
                      jwt.encode({"iss": "NETOPIA Payments"}, "x" * 64, algorithm="HS256"),  # no RSA at all
                      ""):  # fmt: skip
            r = client.post(f"/gateways/notify/{netopia_account.pk}/", data=body,
                            content_type="application/json", HTTP_VERIFICATION_TOKEN=token)  # fmt: skip
            assert r.status_code == 400, token
    assert Payment.objects.count() == 0
    assert caplog.text.count("refused a notification") == 5


def test_netopia_ipn_twice_and_refund(world, netopia_account, netopia_fake, client, deliver):
    _, [inv] = issued(world)
    ntp = urlsplit(_start(client, inv, netopia_account)).path.rsplit("/", 1)[1]
    netopia_fake.pay(ntp)
    paid = list(netopia_fake.outbox)
    deliver(netopia_fake, netopia_account)
    deliver(netopia_fake, netopia_account, only=paid)  # NETOPIA resends until it is answered
    assert Payment.objects.count() == 1 and pay.outstanding(inv) == 0
    netopia_fake.refund(ntp)
    deliver(netopia_fake, netopia_account)
    assert Payment.objects.get().reversed and pay.outstanding(inv) == Decimal("121.00")


def test_a_notification_for_an_unknown_order_pays_nothing_and_is_flagged(
    world, stripe_account, stripe_fake, deliver
):
    issued(world)
    stripe_fake.event("payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent", "amount": 12100,
                      "amount_received": 12100, "currency": "ron", "metadata": {"recurent_ref": "R999-x"}})  # fmt: skip
    [(status, _)] = deliver(stripe_fake, stripe_account)
    assert status == 200 and Payment.objects.count() == 0
    assert GatewayEvent.objects.get().outcome == "flagged"
