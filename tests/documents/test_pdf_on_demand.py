"""Issue 22: a PDF is rendered when it is first needed. The worker renders every invoice's
e-Factura XML, but a PDF only for an invoice whose email is waiting for it; any other PDF is
rendered on its first download (web, portal, API, month-close package), stored, and served from
storage after. The bytes are the same whenever they are drawn: the PDF comes from the snapshot."""

from django.urls import reverse

from recurent.clients.portal_links import portal_token
from recurent.documents import pdf
from recurent.documents.models import InvoiceDocument
from recurent.documents.services import doc_data, render_pending, style_for
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local
from tests.web.conftest import login


def _two_invoices(world):
    emailed = f.contract(
        world.company, issuer=world.user, first=local(2026, 1, 31), auto_email=True
    )
    plain = f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 1, 31, 10))
    return Invoice.objects.get(contract=emailed), Invoice.objects.get(contract=plain)


def _kinds(inv):
    return set(InvoiceDocument.objects.filter(invoice=inv).values_list("kind", flat=True))


def test_the_worker_renders_every_xml_and_only_the_pdfs_an_email_waits_for(world):
    emailed, plain = _two_invoices(world)
    assert render_pending(limit=10) == 2
    assert _kinds(emailed) == {"pdf", "xml"}
    assert _kinds(plain) == {"xml"}
    assert render_pending(limit=10) == 0  # nothing left for the worker


def test_the_first_download_renders_stores_and_matches_a_fresh_render(world):
    _, plain = _two_invoices(world)
    render_pending(limit=10)
    c = login(world.user)
    first = c.get(reverse("documents:invoice-pdf", args=[plain.pk]))
    assert first.status_code == 200 and first.content.startswith(b"%PDF-")
    assert _kinds(plain) == {"pdf", "xml"}
    again = c.get(reverse("documents:invoice-pdf", args=[plain.pk]))
    assert again.content == first.content
    # Deterministic: drawn again from the snapshot, byte for byte the stored one.
    data = doc_data(plain)
    assert pdf.render(data, style_for(plain.company)) == first.content
    # No render-time clock in the file (CI once drew the two a second apart and they differed).
    assert b"CreationDate" not in first.content and b"CreateDate" not in first.content


def test_the_portal_offers_and_serves_a_pdf_not_rendered_yet(world):
    _, plain = _two_invoices(world)
    token = portal_token(plain.client_id)  # one token: it carries a timestamp
    c = login(world.user)
    page = c.get(reverse("portal:home", args=[token])).content.decode()
    url = reverse("portal:document", args=[token, plain.pk, "pdf"])
    assert url in page
    r = c.get(url)
    assert r.status_code == 200 and r.content.startswith(b"%PDF-")
