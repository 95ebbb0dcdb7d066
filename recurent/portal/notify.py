"""The one seam through which the portal emails: the client's confirmation and the company's notice.

Queued in the mail app's outbox inside the caller's transaction (``mail.services.notice_queue``):
a rolled-back change queues nothing, a committed one always has its messages queued, and the
mail sender delivers them through the company's own SMTP server, with retries.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from recurent.mail.services import notice_queue

if TYPE_CHECKING:
    from recurent.companies.models import Company
    from recurent.mail.models import OutboxMessage

log = logging.getLogger("recurent.portal")


def send(
    *, company: Company, to: list[str], subject: str, body: str, as_of: datetime
) -> OutboxMessage | None:
    """Queue one plain-text message; None when no address is usable (the change still stands)."""
    usable = []
    for addr in (a.strip() for a in to if a and a.strip()):
        try:
            validate_email(addr)
            usable.append(addr)
        except ValidationError:
            # A bad address imported with the client must not undo the client's change.
            log.warning("portal notice: skipped invalid address %r", addr)
    if not usable:
        log.warning("portal notice %r not queued: no valid address", subject)
        return None
    return notice_queue(company=company, to=usable, subject=subject, body_text=body, as_of=as_of)
