"""render_pending renders a claimed block of invoices at once: the same documents as one
invoice at a time, a number of queries that does not grow with the block, and a broken
invoice that does not stop the others."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recurent.documents import pdf, services
from recurent.documents.models import DocumentSettings, InvoiceDocument
from recurent.documents.services import annex_add, build_xml, doc_data, render_pending, style_for
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.documents import scenarios
from tests.factories import local


@pytest.fixture
def payload_pdf(monkeypatch):
    """The PDF as the typst input it is made of: typst stamps each PDF with its creation
    time, so two renders of the same invoice differ in bytes; the input must not."""
    real = pdf.payload

    def render(d, style=None):
        return json.dumps(
            real(d, style or pdf.Style()), ensure_ascii=False, sort_keys=True
        ).encode()

    monkeypatch.setattr(pdf, "render", render)


def _invoices(world, n: int) -> list[Invoice]:
    for _ in range(n):
        f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 1, 31, 10))
    return list(Invoice.objects.order_by("pk"))


def test_a_block_renders_the_same_documents_as_one_invoice_at_a_time(world, payload_pdf, settings):
    # Given company settings, a contract annex, an invoice's own annex, and a storno
    DocumentSettings.objects.create(company=world.company, accent_color="#8A1538",
                                    footer_text="Mulțumim!", bilingual=False)  # fmt: skip
    k = f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    annex_add(contract=k, filename="consum.csv", content=b"zi;kWh\n1;3\n", description="Consum")
    invoices = _invoices(world, 3)
    annex_add(invoice=invoices[1], filename="anexa.csv", content=b"a;b\n", description="Anexa")
    eur = scenarios.eur_invoice(world)
    invoices = list(Invoice.objects.order_by("pk"))
    assert eur in invoices and len(invoices) == 5
    # What the one-invoice path would store
    expected = {}
    for inv in invoices:
        data = doc_data(inv)
        xml, findings = build_xml(data)
        assert findings == []
        expected[inv.pk, "xml"] = xml
        expected[inv.pk, "pdf"] = pdf.render(data, style_for(inv.company))
    assert b"consum.csv" in expected[k.invoices.get().pk, "xml"]
    assert b"anexa.csv" in expected[invoices[1].pk, "xml"]
    # When the worker renders them as one block (every PDF too: RECURENT_PDF_IN_ADVANCE)
    settings.RECURENT_PDF_IN_ADVANCE = True
    assert render_pending(limit=10) == 5
    # Then every stored document is byte for byte the one-invoice one
    stored = {(d.invoice_id, d.kind): bytes(d.content) for d in InvoiceDocument.objects.all()}
    assert stored == expected
    assert all(d.valid for d in InvoiceDocument.objects.all())


def test_a_block_costs_the_same_queries_whatever_its_size(world, monkeypatch):
    def queries(n: int) -> int:
        InvoiceDocument.objects.all().delete()
        with CaptureQueriesContext(connection) as ctx:
            assert render_pending(limit=n) == n
        return len(ctx.captured_queries)

    monkeypatch.setattr(pdf, "render", lambda d, style=None: b"%PDF-")
    _invoices(world, 12)
    small, big = queries(2), queries(12)
    assert big == small, (small, big)
    # whether a render is failing (where the search starts: test_render_scan.py), candidates
    # (those an email waits for, then the others), claim, lines, documents, annexes, settings,
    # insert (+ transaction)
    assert big <= 12


def test_an_invoice_that_fails_to_render_does_not_stop_its_block(world, monkeypatch):
    invoices = _invoices(world, 3)
    broken = invoices[1].full_number
    real = services.build_xml

    def build(data):
        if data.number == broken:
            raise RuntimeError("boom")
        return real(data)

    monkeypatch.setattr(services, "build_xml", build)
    monkeypatch.setattr(pdf, "render", lambda d, style=None: b"%PDF-")
    assert render_pending(limit=10) == 2
    assert set(InvoiceDocument.objects.values_list("invoice_id", flat=True)) == {
        invoices[0].pk, invoices[2].pk}  # fmt: skip
    # nothing of the broken one is stored: it stays pending, for the next run
    assert list(services.pending_invoices().values_list("pk", flat=True)) == [invoices[1].pk]
