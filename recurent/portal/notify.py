"""The one seam through which the portal emails: the client's confirmation and the company's notice.

Sent after the transaction commits (a rolled-back change is never confirmed). Django's
send_mail for now; switch to the mail app's outbox here when it offers a generic "queue a
message" function.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

log = logging.getLogger("recurent.portal")


def send(*, to: list[str], subject: str, body: str) -> None:
    to = [a for a in to if a]
    if not to:
        return

    def deliver() -> None:
        try:
            send_mail(subject, body, getattr(settings, "DEFAULT_FROM_EMAIL", None), to)
        except OSError:
            # The change itself is saved and audited; a lost notice must not undo it.
            log.exception("portal notice to %s not sent", to)

    transaction.on_commit(deliver)
