"""What other apps (mail, e-Factura, API, portal) read of an invoice's documents."""

from __future__ import annotations

from .models import DocumentKind, InvoiceDocument


def attachments(invoice_id: int) -> list[tuple[str, bytes, str]]:
    """(filename, content, MIME type) of every stored document of the invoice, PDF first."""
    docs = InvoiceDocument.objects.filter(invoice_id=invoice_id).order_by("kind")
    order = {DocumentKind.PDF: 0, DocumentKind.XML: 1}
    return [
        (d.filename, bytes(d.content), d.content_type)
        for d in sorted(docs, key=lambda d: order.get(d.kind, 9))  # type: ignore[call-overload]
    ]


def document(invoice_id: int, kind: str) -> InvoiceDocument | None:
    return InvoiceDocument.objects.filter(invoice_id=invoice_id, kind=kind).first()
