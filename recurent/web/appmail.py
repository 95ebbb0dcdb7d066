"""The application's own messages (an invitation, a password reset link): which server they
leave through, and a failure said in words instead of a 500.

The route, first that applies:
1. the installation's server, from the environment (``RECURENT_EMAIL_HOST`` and the other
   ``RECURENT_EMAIL_*`` settings, docs/guide-owner.md) — or any email backend the settings
   name explicitly (a test's in-memory outbox, a console backend while developing);
2. the company's own SMTP settings (the server its invoices leave through);
3. none: nothing can be sent, and the caller says so (with the link to pass on by hand).
"""

from __future__ import annotations

import logging
import smtplib

from django.conf import settings
from django.core.mail import send_mail

from recurent.companies.models import Company

log = logging.getLogger("recurent.web")

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


class NotSent(Exception):
    """The message did not leave; ``str()`` is the detail for the log, not for the screen."""


def installation_server() -> bool:
    """Whether the installation sends its own messages (environment or an explicit backend)."""
    return bool(settings.EMAIL_HOST) or settings.EMAIL_BACKEND != SMTP_BACKEND


def _company_settings(company: Company | None):  # type: ignore[no-untyped-def]
    if company is None:
        return None
    from recurent.mail.models import SmtpSettings

    return SmtpSettings.objects.filter(company=company).first()


def can_send(company: Company | None) -> bool:
    return installation_server() or _company_settings(company) is not None


def app_mail_send(*, company: Company | None, to: str, subject: str, body: str) -> None:
    """Send one plain-text message of the application's own; raises ``NotSent``."""
    if installation_server():
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=False)
        except (OSError, smtplib.SMTPException) as e:
            log.warning("application email to %s not sent: %s", to, e)
            raise NotSent(f"{type(e).__name__}: {e}") from None
        return
    cfg = _company_settings(company)
    if cfg is None:
        raise NotSent("no mail server: set RECURENT_EMAIL_HOST or the company's email settings")
    from recurent.mail import sender
    from recurent.mail.direct import NotConnected, send_plain_message

    try:
        send_plain_message(
            cfg=cfg,
            to=to,
            sender_name=cfg.from_name or (company.legal_name if company else "Recurent"),
            subject=subject,
            body=body,
        )
    except (NotConnected, sender.Temporary, sender.Permanent) as e:
        log.warning(
            "application email to %s not sent through company %s: %s", to, cfg.company_id, e
        )
        raise NotSent(str(e)) from None
