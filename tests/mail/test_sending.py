"""Sending over real SMTP (aiosmtpd on 127.0.0.1): what arrives, and the state recorded."""

from datetime import timedelta

from recurent.mail import crypto
from recurent.mail.models import OutboxMessage, OutboxState, SmtpSettings
from recurent.mail.selectors import delivery_state
from recurent.mail.sender import send_pending
from recurent.mail.services import smtp_password, smtp_settings_save
from tests.mail.helpers import AFTER, add_documents, issue


def test_the_invoice_email_arrives_with_both_bodies_attachments_and_stable_headers(mail_world):
    inv = issue(mail_world, emails=["ana@client.ro", "contabil@client.ro"], name="Client <Ș> SRL")[
        0
    ]
    add_documents(inv, pdf=b"%PDF-1.7 " + b"x" * 5000)
    assert send_pending(limit=10, as_of=AFTER) == 1

    (got,) = mail_world.smtp.received
    assert got.mail_from == "facturi@demo.ro"
    assert got.rcpt_tos == ["ana@client.ro", "contabil@client.ro"]
    msg = got.message
    assert msg.get_content_type() == "multipart/mixed"
    alt, pdf, xml = msg.iter_parts()
    assert alt.get_content_type() == "multipart/alternative"
    text, html = alt.iter_parts()
    assert text.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert "REC-000001" in text.get_content() and "Client <Ș> SRL" in text.get_content()
    assert "Client &lt;Ș&gt; SRL" in html.get_content()  # autoescaped in HTML only
    assert "121,00 RON" in text.get_content()  # 100 + 21% VAT, Romanian number format
    assert "/portal/" in text.get_content()
    assert (pdf.get_filename(), pdf.get_content_type()) == ("REC-000001.pdf", "application/pdf")
    assert pdf.get_content() == b"%PDF-1.7 " + b"x" * 5000
    assert (xml.get_filename(), xml.get_content()) == ("REC-000001.xml", b"<Invoice/>")
    assert msg["Subject"] == "Factura REC-000001 de la Recurent Demo SRL"
    assert msg["To"] == "ana@client.ro, contabil@client.ro"
    assert msg["From"] == "Recurent Demo <facturi@demo.ro>"
    assert msg["Bcc"] is None

    m = OutboxMessage.objects.get()
    assert m.state == OutboxState.SENT and m.attempts == 1 and m.sent_at is not None
    assert msg["Message-ID"] == m.message_id
    assert m.message_id.startswith(f"<recurent.{m.pk}.") and m.message_id.endswith("@demo.ro>")
    assert m.last_response.startswith("250 2.0.0 Ok: queued as Q1")
    assert m.attachments == ["REC-000001.pdf", "REC-000001.xml"]
    state = delivery_state(inv.pk)
    assert state.state == "sent" and state.last_response == m.last_response
    assert send_pending(limit=10, as_of=AFTER) == 0  # nothing is sent twice
    assert len(mail_world.smtp.received) == 1


def test_blind_copy_goes_to_the_company_in_the_envelope_only(mail_world):
    s = SmtpSettings.objects.get()
    s.bcc_company = True
    s.save()
    issue(mail_world, emails=["ana@client.ro"])
    send_pending(limit=10, as_of=AFTER)
    (got,) = mail_world.smtp.received
    assert got.rcpt_tos == ["ana@client.ro", "facturi@demo.ro"]  # the company's email
    assert got.message["To"] == "ana@client.ro" and got.message["Bcc"] is None


def test_english_template_for_a_foreign_client(mail_world):
    issue(mail_world, emails=["bob@example.com"], country="DE", county="", tax_id="DE123456789")
    send_pending(limit=10, as_of=AFTER)
    msg = mail_world.smtp.received[0].message
    assert msg["Subject"] == "Invoice REC-000001 from Recurent Demo SRL"
    assert "Amount due: 121.00 RON" in msg.get_body(("plain",)).get_content()


def test_a_message_waits_a_bounded_time_for_its_documents_then_goes_without(mail_world):
    inv = issue(mail_world)[0]
    soon = inv.issued_at + timedelta(minutes=1)
    assert send_pending(limit=10, as_of=soon) == 0
    m = OutboxMessage.objects.get()
    assert m.state == OutboxState.PENDING and "waiting for the invoice PDF/XML" in m.last_response
    assert mail_world.smtp.received == []
    late = inv.issued_at + timedelta(minutes=11)
    assert send_pending(limit=10, as_of=late) == 1
    msg = mail_world.smtp.received[0].message
    assert msg.get_content_type() == "multipart/alternative"  # no attachments
    assert OutboxMessage.objects.get().state == OutboxState.SENT


def test_documents_rendered_while_waiting_are_attached(mail_world):
    inv = issue(mail_world)[0]
    send_pending(limit=10, as_of=inv.issued_at + timedelta(seconds=5))
    add_documents(inv)
    send_pending(limit=10, as_of=inv.issued_at + timedelta(minutes=2))
    names = [p.get_filename() for p in mail_world.smtp.received[0].message.iter_attachments()]
    assert names == ["REC-000001.pdf", "REC-000001.xml"]


def test_without_smtp_settings_messages_wait_without_using_attempts(world):
    issue(world)
    assert send_pending(limit=10, as_of=AFTER) == 0
    m = OutboxMessage.objects.get()
    assert m.state == OutboxState.PENDING and m.attempts == 0
    assert "no SMTP settings" in m.last_response


def test_the_smtp_password_is_stored_encrypted_and_kept_when_not_given(world):
    s = smtp_settings_save(
        company=world.company,
        host="smtp.example.ro",
        from_email="a@b.ro",
        username="u",
        password="s3cret-parolă",
    )
    assert "s3cret" not in s.password_encrypted and s.password_encrypted
    assert smtp_password(s) == "s3cret-parolă"
    assert "s3cret" not in repr(s) and "s3cret" not in str(s)
    s = smtp_settings_save(
        company=world.company, host="smtp2.example.ro", from_email="a@b.ro", username="u"
    )
    assert smtp_password(s) == "s3cret-parolă" and s.port == 587


def test_a_password_from_another_key_fails_with_a_clear_message(world, monkeypatch):
    s = smtp_settings_save(company=world.company, host="h", from_email="a@b.ro", password="x")
    monkeypatch.setenv("RECURENT_ENCRYPTION_KEY", "a different key")
    monkeypatch.setattr("django.conf.settings.SECRET_KEY", "another secret")
    import pytest

    with pytest.raises(crypto.DecryptionError, match="enter the password again"):
        smtp_password(s)


def test_login_with_the_stored_password(world, smtp_server):
    # aiosmtpd refuses AUTH over plain text unless told otherwise: a refused login is a
    # settings problem, retried (not a permanent failure of the message).
    smtp_settings_save(
        company=world.company,
        host="127.0.0.1",
        port=smtp_server.port,
        security="none",
        from_email="facturi@demo.ro",
        username="user",
        password="pw",
    )
    issue(world)
    send_pending(limit=10, as_of=AFTER)
    m = OutboxMessage.objects.get()
    assert m.state == OutboxState.PENDING and m.attempts == 1
    assert "127.0.0.1" in m.last_response and smtp_server.received == []


def _queries_to_send(world, n: int) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for inv in issue(world, n, emails=["ana@client.ro"]):
        if not inv.documents.exists():
            add_documents(inv)
    with CaptureQueriesContext(connection) as ctx:
        assert send_pending(limit=100, as_of=AFTER) == n
    return len(ctx.captured_queries)


def test_a_run_reads_its_attachments_and_portal_links_together(mail_world):
    # Each message costs its claim and its result (and their transactions); its documents,
    # annexes and portal link are read for the run, not per message (issue 22).
    few = _queries_to_send(mail_world, 2)
    OutboxMessage.objects.all().delete()
    many = _queries_to_send(mail_world, 12)
    assert (many - few) / 10 <= 4, (few, many)
    assert len(mail_world.smtp.received) == 14
