"""One plain-text message through a company's SMTP server, outside the outbox: the settings'
test message and the application's own messages when the installation has no server of its own.
It talks the way the sender does (``sender.connect`` / ``sender.transact``)."""

from __future__ import annotations

import smtplib
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid

from django.utils.translation import gettext

from recurent.common import clock

from . import sender
from .models import SmtpSettings


class NotConnected(Exception):
    """No SMTP conversation took place (refused, silent, closed, not SMTP, login refused): the
    screen says one and the same thing for all of them, so that the test button does not tell
    an open port from a closed one (the detail is in the message, for the server's log)."""


# Shown when testing the settings: the time a person waits for a dead server's answer.
TEST_TIMEOUT_SECONDS = 15


def send_test_message(*, cfg: SmtpSettings, to: str, company_name: str) -> str:
    """Send one short message to ``to`` through the company's server, the same way the sender
    connects and talks (``sender.connect`` / ``sender.transact``). Returns the server's answer;
    raises ``NotConnected`` when no conversation took place, ``sender.Temporary`` /
    ``sender.Permanent`` with the server's answer when it refused the message."""
    cfg.timeout = min(cfg.timeout or TEST_TIMEOUT_SECONDS, TEST_TIMEOUT_SECONDS)  # not saved
    return send_plain_message(
        cfg=cfg,
        to=to,
        sender_name=cfg.from_name or company_name,
        subject=gettext("Recurent: test message"),
        body=gettext(
            "This message was sent from Recurent to check the email settings of %(company)s. "
            "Invoices will leave through the same server."
        )
        % {"company": company_name},
    )


def send_plain_message(
    *, cfg: SmtpSettings, to: str, sender_name: str, subject: str, body: str
) -> str:
    """One plain-text message through a company's server (the test message, and the
    application's own messages when the installation has no server of its own). Returns the
    server's answer; raises as ``send_test_message`` says."""
    domain = cfg.from_email.rpartition("@")[2] or "localhost"
    msg = EmailMessage(policy=SMTP_POLICY)
    user, _sep, dom = cfg.from_email.rpartition("@")
    msg["From"] = Address(display_name=sender_name, username=user, domain=dom)
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(clock.now())
    msg["Message-ID"] = make_msgid("recurent", domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    prepared = sender.Prepared(
        message=None,  # type: ignore[arg-type]  # transact reads only the envelope and the bytes
        data=msg.as_bytes(),
        sender=cfg.from_email,
        to=[to],
        envelope=[to],
        subject=str(msg["Subject"]),
        message_id=str(msg["Message-ID"]),
        attachment_names=[],
        note="",
    )
    try:
        conn = sender.connect(cfg)
    except sender.Temporary as e:
        raise NotConnected(str(e)) from None
    try:
        answer, _refused = sender.transact(conn, prepared)
    except (OSError, smtplib.SMTPException) as e:
        raise sender.Temporary(f"{type(e).__name__}: {e}") from None
    finally:
        sender._close(conn)
    return answer
