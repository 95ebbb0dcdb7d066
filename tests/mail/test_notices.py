"""Notices: messages other apps write (notice_queue), delivered by the outbox like invoice emails
— the company's SMTP server (aiosmtpd on 127.0.0.1), claimed before DATA, retried, one
Message-ID — without an invoice, a template or attachments."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from recurent.mail import sender
from recurent.mail.models import OutboxKind, OutboxMessage, OutboxState
from recurent.mail.selectors import failed_count, failures
from recurent.mail.sender import send_pending
from recurent.mail.services import notice_queue
from tests.mail.helpers import AFTER, issue

T0 = AFTER


def queue(world, **kw):
    args = dict(
        company=world.company,
        to=["ana@client.ro"],
        subject="Confirmare",
        body_text="Bună ziua,\nAm înregistrat cererea.\n",
        as_of=T0,
    )
    return notice_queue(**{**args, **kw})


def test_a_notice_is_stored_with_its_text_and_recipients(world):
    m = queue(world, to=["ana@client.ro", " ana@client.ro", "b@client.ro"], subject="Un\n rând")
    m.refresh_from_db()
    assert (m.kind, m.state, m.invoice_id) == (OutboxKind.NOTICE, OutboxState.PENDING, None)
    assert m.recipients == ["ana@client.ro", "b@client.ro"]  # duplicates folded
    assert m.subject == "Un rând"  # one line: no header injection
    assert m.body_text == "Bună ziua,\nAm înregistrat cererea.\n" and m.body_html == ""
    assert (m.queued_at, m.not_before) == (T0, T0)


def test_a_notice_is_written_in_the_callers_transaction(world):
    with pytest.raises(RuntimeError), transaction.atomic():
        queue(world)
        assert OutboxMessage.objects.count() == 1
        raise RuntimeError("the caller's change fails")
    assert OutboxMessage.objects.count() == 0  # rolled back with it: nothing will be sent


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"to": []}, "to"),
        ({"to": ["not-an-address"]}, "to"),
        ({"subject": "  "}, "subject"),
        ({"subject": "x" * 301}, "subject"),
        ({"body_text": "\n"}, "body_text"),
    ],
)
def test_bad_input_is_refused_naming_the_field(world, kw, field):
    with pytest.raises(ValidationError) as e:
        queue(world, **kw)
    assert field in e.value.message_dict
    assert OutboxMessage.objects.count() == 0


def test_invoice_emails_and_reminders_still_need_their_invoice(world):
    for kind in (OutboxKind.INVOICE, OutboxKind.REMINDER):
        with pytest.raises(IntegrityError), transaction.atomic():
            OutboxMessage.objects.create(
                company=world.company, kind=kind, queued_at=T0, not_before=T0
            )


def test_a_notice_arrives_through_the_companys_server_once(mail_world):
    m = queue(mail_world, to=["ana@client.ro", "b@client.ro"])
    # Due at once: a notice has no documents to wait for.
    assert send_pending(limit=10, as_of=T0) == 1
    (got,) = mail_world.smtp.received
    assert got.mail_from == "facturi@demo.ro"
    assert got.rcpt_tos == ["ana@client.ro", "b@client.ro"]
    msg = got.message
    assert msg.get_content_type() == "text/plain"  # no HTML given, no attachments
    assert msg.get_content().replace("\r\n", "\n") == "Bună ziua,\nAm înregistrat cererea.\n"
    assert msg["Subject"] == "Confirmare"
    assert msg["From"] == "Recurent Demo <facturi@demo.ro>"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["X-Recurent-Invoice"] is None
    m.refresh_from_db()
    assert m.state == OutboxState.SENT and m.attempts == 1
    assert msg["Message-ID"] == m.message_id and m.message_id.startswith(f"<recurent.{m.pk}.")
    assert m.last_response.startswith("250 2.0.0 Ok: queued as Q1") and m.attachments == []
    assert send_pending(limit=10, as_of=T0 + timedelta(hours=1)) == 0
    assert len(mail_world.smtp.received) == 1


def test_a_notice_with_html_goes_as_alternative_bodies(mail_world):
    queue(mail_world, body_html="<p>Bună ziua</p>")
    send_pending(limit=10, as_of=T0)
    msg = mail_world.smtp.received[0].message
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg.get_body(("html",)).get_content().strip() == "<p>Bună ziua</p>"


def test_a_notice_is_claimed_before_its_data_is_sent(mail_world, monkeypatch):
    m = queue(mail_world)
    seen = []
    real = sender.transact

    def spy(conn, p):
        row = OutboxMessage.objects.get(pk=p.message.pk)
        seen.append((row.state, row.attempts, row.message_id, row.sending_owner))
        return real(conn, p)

    monkeypatch.setattr(sender, "transact", spy)
    send_pending(limit=10, as_of=T0)
    m.refresh_from_db()
    assert seen == [(OutboxState.SENDING, 1, m.message_id, sender.owner())]
    assert m.state == OutboxState.SENT


def test_a_refused_notice_is_retried_with_backoff_and_the_same_message_id(mail_world, settings):
    settings.RECURENT_MAIL_RETRY_BASE_SECONDS = 60
    m = queue(mail_world)
    mail_world.smtp.handler.data_replies.append("451 4.3.0 Try again later")
    send_pending(limit=10, as_of=T0)
    m.refresh_from_db()
    assert (m.state, m.attempts, m.not_before) == (
        OutboxState.PENDING,
        1,
        T0 + timedelta(seconds=60),
    )
    first_id = m.message_id
    assert send_pending(limit=10, as_of=T0 + timedelta(seconds=30)) == 0  # not due yet
    send_pending(limit=10, as_of=m.not_before)
    m.refresh_from_db()
    assert (m.state, m.attempts, m.message_id) == (OutboxState.SENT, 2, first_id)
    (got,) = mail_world.smtp.received
    assert got.message["Message-ID"] == first_id


def test_a_notice_left_in_sending_by_a_dead_sender_is_not_sent_again(mail_world):
    m = queue(mail_world)
    OutboxMessage.objects.filter(pk=m.pk).update(
        state=OutboxState.SENDING, sending_owner=f"{sender.HOST}:999999999", attempts=1,
        sending_since=T0,
    )  # fmt: skip
    send_pending(limit=10, as_of=T0)
    m.refresh_from_db()
    assert m.state == OutboxState.UNKNOWN and mail_world.smtp.received == []


def test_a_notice_without_a_valid_address_fails_at_once(mail_world):
    # Bypassing the service's check, as an old row or another writer might.
    m = OutboxMessage.objects.create(
        company=mail_world.company, kind=OutboxKind.NOTICE, subject="x", body_text="x",
        recipients=["nobody"], queued_at=T0, not_before=T0,
    )  # fmt: skip
    send_pending(limit=10, as_of=T0)
    m.refresh_from_db()
    assert m.state == OutboxState.FAILED and "no valid recipient address" in m.last_response
    assert mail_world.smtp.received == []


def test_notices_and_invoice_emails_go_in_one_batch(mail_world):
    issue(mail_world, emails=["ana@client.ro"])
    queue(mail_world, to=["office@demo.ro"])
    assert send_pending(limit=10, as_of=AFTER) == 2
    assert sorted(r.rcpt_tos[0] for r in mail_world.smtp.received) == [
        "ana@client.ro",
        "office@demo.ro",
    ]
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {OutboxState.SENT}


def test_the_outbox_screen_lists_and_resends_a_notice(mail_world, settings):
    settings.ROOT_URLCONF = "recurent.urls"
    mail_world.smtp.handler.data_replies.append("550 5.1.1 no such user")
    failed = queue(mail_world, subject="Portal: Alfa a modificat contractul C-1")
    send_pending(limit=10, as_of=T0)
    failed.refresh_from_db()
    assert failed.state == OutboxState.FAILED
    # The dashboard counts what a later invoice email can make good; a notice is listed here.
    assert failed_count(mail_world.company.pk) == 0 and failures(mail_world.company.pk) == []
    c = Client()
    c.force_login(mail_world.user)
    page = c.get(reverse("mail:outbox"), {"state": "attention"})
    assert [m.pk for m in page.context["page"]] == [failed.pk]
    html = page.content.decode()
    assert "Notificare" in html and "Portal: Alfa a modificat contractul C-1" in html
    assert "550 5.1.1 no such user" in html
    assert reverse("mail:outbox-resend", args=[failed.pk]) in html
    r = c.post(reverse("mail:outbox-resend", args=[failed.pk]))
    assert r.status_code == 302
    again = OutboxMessage.objects.exclude(pk=failed.pk).get()
    assert (again.kind, again.manual, again.state) == (OutboxKind.NOTICE, True, "pending")
    assert (again.subject, again.body_text, again.recipients) == (
        failed.subject,
        failed.body_text,
        failed.recipients,
    )
    send_pending(limit=10)
    again.refresh_from_db()
    assert again.state == OutboxState.SENT and again.message_id != failed.message_id
    assert len(mail_world.smtp.received) == 1
