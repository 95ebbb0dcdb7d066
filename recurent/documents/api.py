"""What other apps (mail, e-Factura, API, portal) read of an invoice's documents."""

from __future__ import annotations

from django.db.models import Q

from .models import Annex, DocumentKind, InvoiceDocument


def attachments(invoice_id: int) -> list[tuple[str, bytes, str]]:
    """(filename, content, MIME type) of every stored document of the invoice, PDF first,
    then the e-Factura XML, then its annexes (the contract's and the invoice's own).

    An XML that failed the e-Factura check is never handed out."""
    docs = InvoiceDocument.objects.filter(invoice_id=invoice_id, valid=True).order_by("kind")
    order = {DocumentKind.PDF: 0, DocumentKind.XML: 1}
    out = [
        (d.filename, bytes(d.content), d.content_type)
        for d in sorted(docs, key=lambda d: order.get(d.kind, 9))  # type: ignore[call-overload]
    ]
    return out + [(a.filename, bytes(a.content), a.mime) for a in annexes_of(invoice_id)]


def document(invoice_id: int, kind: str) -> InvoiceDocument | None:
    """The stored document of that kind, if it exists and (for the XML) passed the check."""
    return InvoiceDocument.objects.filter(invoice_id=invoice_id, kind=kind, valid=True).first()


def annexes_of(invoice_id: int) -> list[Annex]:
    """The annexes travelling with an invoice: its own and its contract's. Once the XML is
    stored, only those that existed when it was rendered (they are inside it)."""
    from recurent.invoices.models import Invoice

    contract_id = (
        Invoice.objects.filter(pk=invoice_id).values_list("contract_id", flat=True).first()
    )
    q = Q(invoice_id=invoice_id)
    if contract_id:
        q |= Q(contract_id=contract_id)
    qs = Annex.objects.filter(q)
    rendered_at = (
        InvoiceDocument.objects.filter(invoice_id=invoice_id, kind=DocumentKind.XML)
        .values_list("created_at", flat=True)
        .first()
    )
    if rendered_at is not None:
        qs = qs.filter(created_at__lte=rendered_at)
    return list(qs.order_by("created_at", "pk"))
