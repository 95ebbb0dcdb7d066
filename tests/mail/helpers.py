"""Invoices issued through the real engine, for the mail tests."""

from __future__ import annotations

from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local

ISSUE_AT = local(2026, 1, 31, 9, 0)
AFTER = local(2026, 2, 1, 12, 0)  # a send instant well past the attachment wait


def issue(
    world, n: int = 1, *, auto_email: bool = True, emails=None, template: str = "", **client_kw
):
    """n contracts (one client each) invoiced once; returns their invoices in number order."""
    for _ in range(n):
        kw = dict(client_kw)
        if emails is not None:
            kw["emails"] = emails
        cl = f.client(world.company, **kw)
        f.contract(
            world.company,
            issuer=world.user,
            client_=cl,
            first=ISSUE_AT,
            auto_email=auto_email,
            email_template_code=template,
        )
    issue_due(as_of=ISSUE_AT)
    return list(Invoice.objects.order_by("number"))


def add_documents(invoice, pdf: bytes = b"%PDF-1.7 fake pdf", xml: bytes = b"<Invoice/>"):
    import hashlib

    from recurent.documents.models import InvoiceDocument

    for kind, name, ctype, content in (
        ("pdf", f"{invoice.full_number}.pdf", "application/pdf", pdf),
        ("xml", f"{invoice.full_number}.xml", "application/xml", xml),
    ):
        InvoiceDocument.objects.create(
            invoice=invoice,
            kind=kind,
            filename=name,
            content_type=ctype,
            content=content,
            sha256=hashlib.sha256(content).hexdigest(),
        )
