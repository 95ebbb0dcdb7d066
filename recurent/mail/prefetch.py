"""What the sender reads of a run of invoice emails before building them: their attachments and
portal links in a few queries for the run instead of three per message."""

from __future__ import annotations

from dataclasses import dataclass

from recurent.clients.portal_links import portal_urls
from recurent.documents.api import attachments_of

from .models import OutboxMessage


@dataclass
class Prefetched:
    """What a run of messages needs from the database, read for all of them at once."""

    attachments: dict[int, list[tuple[str, bytes, str]]]
    portal: dict[int, str]

    @classmethod
    def of(cls, msgs: list[OutboxMessage]) -> Prefetched:
        invoices = [m.invoice for m in msgs if m.invoice is not None]
        return cls(
            attachments=attachments_of([i.pk for i in invoices]),
            portal=portal_urls([i.client_id for i in invoices]),
        )
