"""Automatic collection by prior agreement: a saved card is charged after the invoice is issued,
with an idempotency key per (invoice, attempt); SCA asks the cardholder; declines are retried on
the company's schedule, then left to reminders; a withdrawn agreement stops the next charge."""

from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recurent.clients.portal_links import portal_token
from recurent.gateways import services
from recurent.gateways.models import CardAgreement, ChargeAttempt
from recurent.mail.models import OutboxMessage
from recurent.payments import selectors as pay
from recurent.payments.models import Payment
from recurent.payments.services import payment_record
from tests.gateways.helpers import attempts, issue_next, later, with_card

PROVIDERS = ["stripe", "netopia"]


def _env(request, provider):
    return request.getfixturevalue(f"{provider}_account"), request.getfixturevalue(
        f"{provider}_fake"
    )


def _charge_calls(fake):
    path = "/v1/payment_intents" if hasattr(fake, "intents") else "/payment/card/start"
    return [c for c in fake.calls if c["path"] == path]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_saved_card_is_charged_after_issue_and_the_invoice_is_paid(
    world, request, provider, deliver
):
    account, fake = _env(request, provider)
    _, contract = with_card(world, account, fake)
    inv, at = issue_next(contract)
    # Issuing only wrote the intent: nothing was asked of the provider inside the transaction.
    [a] = attempts(inv)
    assert (
        a.state == "ready"
        and a.idempotency_key.endswith(f"-{inv.pk}-1")
        and not _charge_calls(fake)
    )
    # When the worker runs after the commit
    assert services.charges_run(limit=10, as_of=later(at, minutes=1)) == 1
    # Then the card is charged once, the invoice is paid
    [call] = _charge_calls(fake)
    assert len(fake.charges) == 1
    if provider == "stripe":
        assert call["headers"]["Idempotency-Key"] == a.idempotency_key
        assert b"off_session=true" in call["body"] and b"confirm=true" in call["body"]
    assert pay.outstanding(inv) == 0
    a.refresh_from_db()
    assert a.state == "succeeded" and a.provider_ref
    p = Payment.objects.get(allocations__invoice=inv)
    assert p.gateway.automatic and p.method == "card"
    # Run twice: nothing more; the provider's own notification of the charge adds nothing.
    assert services.charges_run(limit=10, as_of=later(at, minutes=2)) == 0
    deliver(fake, account)
    assert Payment.objects.filter(allocations__invoice=inv).count() == 1
    assert len(_charge_calls(fake)) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_charge_that_needs_the_cardholder_emails_a_link_to_complete_it(
    world, request, provider, client, deliver
):
    account, fake = _env(request, provider)
    cl, contract = with_card(world, account, fake, behavior="sca")
    inv, at = issue_next(contract)
    services.charges_run(limit=10, as_of=later(at, minutes=1))
    [a] = attempts(inv)
    assert a.state == "needs_action"
    assert pay.outstanding(inv) == inv.gross_total
    [notice] = OutboxMessage.objects.filter(kind="notice")
    assert notice.recipients == cl.emails and inv.full_number in notice.subject
    assert "/gateways/pay/" in notice.body_text
    # No retry without the client
    assert services.charges_run(limit=10, as_of=later(at, days=30)) == 0
    # The client opens the link from the email and completes the payment with the processor
    [link] = [w for w in notice.body_text.split() if "/gateways/pay/" in w]
    r = client.post(urlsplit(link).path, {"account": account.pk})
    assert r.status_code == 302 and r["Location"].startswith(fake.base)
    requests.post(r["Location"], allow_redirects=False, timeout=10)
    deliver(fake, account)
    assert pay.outstanding(inv) == 0
    assert [a.state for a in attempts(inv)] == ["cancelled"]  # no longer waiting


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_declined_card_is_retried_on_the_schedule_then_left_to_reminders(
    world, request, provider
):
    account, fake = _env(request, provider)
    account.retry_days = "3,5,7"
    account.save()
    _, contract = with_card(world, account, fake, behavior="decline")
    inv, at = issue_next(contract)
    services.charges_run(limit=10, as_of=later(at, minutes=1))
    assert [(a.attempt, a.state) for a in attempts(inv)] == [(1, "declined"), (2, "ready")]
    assert attempts(inv)[1].not_before == later(at, minutes=1, days=3)
    assert services.charges_run(limit=10, as_of=later(at, days=2)) == 0  # not yet
    for day in (3, 5, 7):
        assert services.charges_run(limit=10, as_of=later(at, days=day, minutes=2)) == 1
    states = [(a.attempt, a.state) for a in attempts(inv)]
    assert states == [(1, "declined"), (2, "declined"), (3, "declined"), (4, "declined")]
    assert len(_charge_calls(fake)) == 4 and not fake.charges
    # Given up: the client is told, the invoice stays open for the reminders
    [notice] = OutboxMessage.objects.filter(kind="notice")
    assert "/gateways/pay/" in notice.body_text
    assert pay.outstanding(inv) == inv.gross_total
    assert services.charges_run(limit=10, as_of=later(at, days=60)) == 0
    assert {a.error_code for a in attempts(inv)} <= {"insufficient_funds", "19"}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_withdrawing_from_the_portal_stops_the_next_charge(world, request, provider, client):
    account, fake = _env(request, provider)
    cl, contract = with_card(world, account, fake)
    ag = CardAgreement.objects.get()
    # An invoice issued before the withdrawal, not charged yet
    inv, at = issue_next(contract)
    page = client.get(f"/portal/{portal_token(cl.pk)}/")
    assert f"agreement-{ag.pk}" in page.content.decode() and "4242" in page.content.decode()
    r = client.post(f"/gateways/portal/{portal_token(cl.pk)}/agreements/{ag.pk}/withdraw/")
    assert r.status_code == 302
    ag.refresh_from_db()
    assert ag.status == "withdrawn" and ag.withdrawn_at and ag.withdrawn_ip == "127.0.0.1"
    services.charges_run(limit=10, as_of=later(at, minutes=1))
    assert [a.state for a in attempts(inv)] == ["cancelled"]
    # and the next invoice has no charge at all
    nxt, at2 = issue_next(contract)
    assert attempts(nxt) == []
    services.charges_run(limit=10, as_of=later(at2, minutes=1))
    assert not _charge_calls(fake) and pay.outstanding(nxt) == nxt.gross_total


def test_another_clients_portal_link_cannot_withdraw(world, stripe_account, stripe_fake, client):
    from tests import factories as f

    with_card(world, stripe_account, stripe_fake)
    other = f.client(world.company)
    ag = CardAgreement.objects.get()
    r = client.post(f"/gateways/portal/{portal_token(other.pk)}/agreements/{ag.pk}/withdraw/")
    assert r.status_code == 404
    ag.refresh_from_db()
    assert ag.status == "active"


def test_an_invoice_paid_meanwhile_is_not_charged(world, stripe_account, stripe_fake):
    cl, contract = with_card(world, stripe_account, stripe_fake)
    inv, at = issue_next(contract)
    payment_record(company=world.company, client=cl, date=at.date(), amount=inv.gross_total,
                   allocations=[(inv, inv.gross_total)], as_of=later(at, seconds=1), user=None)  # fmt: skip
    services.charges_run(limit=10, as_of=later(at, minutes=1))
    [a] = attempts(inv)
    assert a.state == "cancelled" and not _charge_calls(stripe_fake)


def test_a_card_expiring_within_a_month_gets_one_notice(world, stripe_account, stripe_fake):
    cl, contract = with_card(world, stripe_account, stripe_fake, exp=(3, 2026))
    from tests.factories import local

    assert services.expiring_cards_notify(limit=10, as_of=local(2026, 2, 10)) == 0  # 49 days left
    assert services.expiring_cards_notify(limit=10, as_of=local(2026, 3, 5)) == 1
    assert services.expiring_cards_notify(limit=10, as_of=local(2026, 3, 6)) == 0  # once
    [notice] = OutboxMessage.objects.filter(kind="notice")
    assert "4242" in notice.subject and "/portal/" in notice.body_text


def test_the_dashboard_shows_what_was_collected_and_what_failed(
    world, stripe_account, stripe_fake, client
):
    _, contract = with_card(world, stripe_account, stripe_fake)
    inv, at = issue_next(contract)
    services.charges_run(limit=10, as_of=later(at, minutes=1))
    from recurent.gateways.selectors import figures

    f = figures(world.company.pk, later(at, minutes=2))
    assert f["automatic"] == {"RON": Decimal("121.00")} and f["counts"]["automatic"] == 1
    client.force_login(world.user)
    # The pages read the real clock (the charge above is dated in 2026-02): the block is there.
    for url in ("/gateways/settings/", "/"):
        page = client.get(url).content.decode()
        assert 'id="collected-automatic"' in page, url
    assert ChargeAttempt.objects.count() == 1
    # The company sees each agreement: card, who agreed, when, from where, the text agreed to.
    page = client.get("/gateways/settings/").content.decode()
    assert "Ana Pop" in page and "4242" in page and "I agree" in page and "127.0.0.1" in page


def test_the_issue_hook_costs_two_queries_whatever_the_batch(world, stripe_account, stripe_fake):
    from recurent.invoices.models import Invoice

    contracts = [with_card(world, stripe_account, stripe_fake)[1] for _ in range(6)]
    invoices = list(Invoice.objects.filter(contract__in=contracts))
    for batch in (invoices[:1], invoices):
        ChargeAttempt.objects.all().delete()
        with CaptureQueriesContext(connection) as ctx:
            services.charges_after_issue(batch)
        assert len(ctx.captured_queries) == 2, [q["sql"] for q in ctx.captured_queries]
        assert ChargeAttempt.objects.count() == len(batch)


def test_after_the_last_retry_the_invoice_gets_the_usual_reminder(
    world, stripe_account, stripe_fake
):
    from datetime import datetime, time

    from recurent.engine.cycles import BUCHAREST
    from recurent.mail.services import reminder_rule_create, reminders_queue

    _, contract = with_card(world, stripe_account, stripe_fake, behavior="decline", auto_email=True)
    reminder_rule_create(company=world.company, offset_days=1)
    inv, at = issue_next(contract)
    for day in (0, 3, 5, 7):
        services.charges_run(limit=10, as_of=later(at, days=day, minutes=2))
    assert [a.state for a in attempts(inv)] == ["declined"] * 4
    day_after_due = datetime.combine(inv.due_date, time(10), BUCHAREST) + timedelta(days=1)
    assert reminders_queue(limit=10, as_of=day_after_due) == 1
    assert OutboxMessage.objects.filter(invoice=inv, kind="reminder").count() == 1
