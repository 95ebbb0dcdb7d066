"""The files a notice carries: the PDF of the proforma it is about, as stored when issued.

A notice is otherwise text only (``services.notice_queue``). A proforma's notice names its
proforma (``OutboxMessage.proforma``); the PDF is read when the message is built, from the
proforma itself (``InvoiceDraft.proforma_pdf``, written once at issue), so the bytes sent are
the bytes stored. A proforma without a PDF (or deleted meanwhile) sends the notice without it.
"""

from __future__ import annotations

import re

from recurent.invoices.models import InvoiceDraft

from .models import OutboxMessage

PDF = "application/pdf"


def _filename(number: str) -> str:
    # The number is the proforma series' own text: kept to what every mail client shows as is.
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", number).strip("-.") or "proforma"
    return f"{safe}.pdf"


def notice_attachments(m: OutboxMessage) -> list[tuple[str, bytes, str]]:
    """(filename, content, MIME type) of the notice's files; none for most notices."""
    if m.proforma_id is None:
        return []
    row = (
        InvoiceDraft.objects.filter(pk=m.proforma_id)
        .values_list("proforma_number", "proforma_pdf")
        .first()
    )
    if row is None or not row[1]:
        return []
    return [(_filename(row[0]), bytes(row[1]), PDF)]
