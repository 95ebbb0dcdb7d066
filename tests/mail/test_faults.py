"""Faults: server down, temporary and permanent refusals, a connection dropped mid-DATA,
a sender that died with a message in flight."""

from datetime import timedelta

import pytest

from recurent.mail import sender
from recurent.mail.models import OutboxMessage, OutboxState, SmtpSettings
from recurent.mail.selectors import failed_count
from recurent.mail.sender import reconcile, send_pending
from recurent.mail.services import smtp_settings_save
from tests.mail.conftest import DroppingServer, free_port
from tests.mail.helpers import AFTER, issue


def test_server_down_is_retried_with_backoff_then_delivered(mail_world, settings):
    settings.RECURENT_MAIL_RETRY_BASE_SECONDS = 60
    issue(mail_world, 2)
    s = SmtpSettings.objects.get()
    real_port, s.port = s.port, free_port()  # nothing listens there
    s.save()
    assert send_pending(limit=10, as_of=AFTER) == 2
    for m in OutboxMessage.objects.all():
        assert (m.state, m.attempts) == (OutboxState.PENDING, 1)
        assert m.not_before == AFTER + timedelta(seconds=60)
        assert "ConnectionRefusedError" in m.last_response
    assert send_pending(limit=10, as_of=AFTER + timedelta(seconds=30)) == 0  # not yet due
    send_pending(limit=10, as_of=AFTER + timedelta(seconds=60))
    assert {m.not_before for m in OutboxMessage.objects.all()} == {
        AFTER + timedelta(seconds=180)
    }  # 60 + 2×60
    s.port = real_port
    s.save()
    assert send_pending(limit=10, as_of=AFTER + timedelta(seconds=180)) == 2
    assert set(OutboxMessage.objects.values_list("state", "attempts")) == {("sent", 3)}
    assert len(mail_world.smtp.received) == 2


@pytest.mark.parametrize("reply", ["421 4.3.2 Service shutting down", "451 4.3.0 Try again later"])
def test_a_4xx_answer_is_retried_and_then_succeeds_with_the_same_message_id(mail_world, reply):
    issue(mail_world)
    mail_world.smtp.handler.data_replies.append(reply)
    send_pending(limit=10, as_of=AFTER)
    m = OutboxMessage.objects.get()
    assert (
        m.state == OutboxState.PENDING
        and m.attempts == 1
        and m.last_response.startswith("DATA: " + reply[:3])
    )
    first_id = m.message_id
    send_pending(limit=10, as_of=m.not_before)
    m.refresh_from_db()
    assert m.state == OutboxState.SENT and m.attempts == 2 and m.message_id == first_id
    (got,) = mail_world.smtp.received
    assert got.message["Message-ID"] == first_id


def test_a_550_stops_at_once_and_counts_as_a_failure(mail_world):
    issue(mail_world)
    mail_world.smtp.handler.data_replies.append("550 5.7.1 Message rejected as spam")
    send_pending(limit=10, as_of=AFTER)
    m = OutboxMessage.objects.get()
    assert (m.state, m.attempts) == (OutboxState.FAILED, 1)
    assert m.last_response == "DATA: 550 5.7.1 Message rejected as spam"
    assert send_pending(limit=10, as_of=AFTER + timedelta(days=1)) == 0
    assert failed_count(mail_world.company.pk) == 1


def test_every_address_refused_permanently_fails_and_sends_nothing(mail_world):
    issue(mail_world, emails=["gone@client.ro"])
    mail_world.smtp.handler.rcpt_replies["gone@client.ro"] = "550 5.1.1 No such user"
    send_pending(limit=10, as_of=AFTER)
    m = OutboxMessage.objects.get()
    assert (
        m.state == OutboxState.FAILED
        and "gone@client.ro: 550 5.1.1 No such user" in m.last_response
    )
    assert mail_world.smtp.received == []


def test_one_address_refused_the_others_still_receive_it(mail_world):
    issue(mail_world, emails=["gone@client.ro", "ana@client.ro"])
    mail_world.smtp.handler.rcpt_replies["gone@client.ro"] = "550 5.1.1 No such user"
    send_pending(limit=10, as_of=AFTER)
    m = OutboxMessage.objects.get()
    assert m.state == OutboxState.SENT and "refused gone@client.ro: 550" in m.last_response
    assert mail_world.smtp.received[0].rcpt_tos == ["ana@client.ro"]


def test_a_client_without_email_fails_permanently_without_connecting(mail_world):
    issue(mail_world, emails=[])
    send_pending(limit=10, as_of=AFTER)
    m = OutboxMessage.objects.get()
    assert (
        m.state == OutboxState.FAILED and m.last_response == "the client has no valid email address"
    )


def test_retries_stop_at_the_configured_limit(mail_world, settings):
    settings.RECURENT_MAIL_MAX_ATTEMPTS = 3
    issue(mail_world)
    mail_world.smtp.handler.data_replies.extend(["451 later"] * 5)
    at = AFTER
    for _ in range(3):
        send_pending(limit=10, as_of=at)
        at = OutboxMessage.objects.get().not_before
    m = OutboxMessage.objects.get()
    assert (m.state, m.attempts) == (OutboxState.FAILED, 3)
    assert "gave up after 3 attempts" in m.last_response


def test_a_connection_dropped_in_the_middle_of_data_is_retried_then_delivered(mail_world):
    issue(mail_world)
    drop = DroppingServer(read_bytes=500)
    s = SmtpSettings.objects.get()
    good_port, s.port = s.port, drop.port
    s.save()
    try:
        send_pending(limit=10, as_of=AFTER)
    finally:
        drop.close()
    assert drop.dropped == 1
    m = OutboxMessage.objects.get()
    assert (
        m.state == OutboxState.PENDING and m.attempts == 1 and "connection lost" in m.last_response
    )
    s.port = good_port
    s.save()
    send_pending(limit=10, as_of=m.not_before)
    m.refresh_from_db()
    assert m.state == OutboxState.SENT
    assert mail_world.smtp.received[0].message["Message-ID"] == m.message_id


def _left_in_sending(m, owner):
    OutboxMessage.objects.filter(pk=m.pk).update(
        state=OutboxState.SENDING,
        sending_owner=owner,
        sending_since=AFTER,
        attempts=1,
        message_id="<recurent.x@demo.ro>",
    )


def test_a_message_left_in_sending_by_a_dead_sender_becomes_unknown_and_is_not_resent(
    mail_world, monkeypatch
):
    issue(mail_world)
    m = OutboxMessage.objects.get()
    _left_in_sending(m, f"{sender.HOST}:999999")  # no such process
    assert send_pending(limit=10, as_of=AFTER) == 0
    m.refresh_from_db()
    assert m.state == OutboxState.UNKNOWN and "may or may not have arrived" in m.last_response
    assert mail_world.smtp.received == []
    assert failed_count(mail_world.company.pk) == 1


def test_with_the_resend_policy_it_goes_again_with_the_same_message_id(mail_world, monkeypatch):
    monkeypatch.setenv("RECURENT_MAIL_ON_UNCERTAIN", "resend")
    issue(mail_world)
    m = OutboxMessage.objects.get()
    _left_in_sending(m, f"{sender.HOST}:999999")
    assert send_pending(limit=10, as_of=AFTER) == 1
    m.refresh_from_db()
    assert m.state == OutboxState.SENT and m.attempts == 2
    assert mail_world.smtp.received[0].message["Message-ID"] == "<recurent.x@demo.ro>"


def test_a_live_senders_message_is_left_alone_until_its_lease_ends(mail_world, monkeypatch):
    import os

    issue(mail_world)
    m = OutboxMessage.objects.get()
    _left_in_sending(m, f"{sender.HOST}:{os.getppid()}")  # alive: our parent process
    OutboxMessage.objects.filter(pk=m.pk).update(sending_since=sender.clock.now())
    assert reconcile() == 0
    monkeypatch.setattr(sender, "LEASE_SECONDS", 0)
    assert reconcile() == 1
    m.refresh_from_db()
    assert m.state == OutboxState.UNKNOWN


def test_another_company_without_a_server_does_not_hold_up_the_rest(mail_world):
    from tests import factories as f
    from tests.mail.helpers import ISSUE_AT

    other = f.company(legal_name="Alta SRL")
    s2 = f.series(other, code="ALT")
    f.membership_grant(user=mail_world.user, company=other, role="admin")
    smtp_settings_save(
        company=other, host="127.0.0.1", port=free_port(), security="none", from_email="x@alta.ro"
    )
    f.contract(other, issuer=mail_world.user, first=ISSUE_AT, auto_email=True, series=s2)
    issue(mail_world)
    send_pending(limit=10, as_of=AFTER)
    states = dict(OutboxMessage.objects.values_list("company_id", "state"))
    assert states == {mail_world.company.pk: "sent", other.pk: "pending"}
