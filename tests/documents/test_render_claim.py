"""Several worker processes render documents side by side: each takes invoices the others
have not claimed (FOR NO KEY UPDATE SKIP LOCKED on PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from recurent.documents.models import InvoiceDocument
from recurent.documents.services import render_pending
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local

pytestmark = pytest.mark.skipif(
    not connection.features.has_select_for_update_skip_locked,
    reason="SKIP LOCKED is PostgreSQL's; on SQLite one process renders (one writer)",
)


@pytest.mark.django_db(transaction=True)
def test_a_worker_skips_the_invoices_another_is_rendering_and_they_are_rendered_once(
    world, settings
):
    settings.RECURENT_PDF_IN_ADVANCE = True  # both documents of every invoice in the run
    # Given four issued invoices, two of them claimed by another worker (its transaction open)
    for _ in range(4):
        f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    assert issue_due(as_of=local(2026, 1, 31, 10)).issued == 4
    ids = sorted(Invoice.objects.values_list("pk", flat=True))
    claimed, release = threading.Event(), threading.Event()

    def other_worker() -> None:
        try:
            with transaction.atomic():
                rows = Invoice.objects.filter(pk__in=ids[:2]).select_for_update(no_key=True)
                assert len(list(rows)) == 2
                claimed.set()
                release.wait(20)
        finally:
            connections.close_all()

    t = threading.Thread(target=other_worker)
    t.start()
    try:
        assert claimed.wait(20)
        # When this worker renders, it neither waits for nor duplicates the other's invoices
        assert render_pending(limit=10) == 2
        rendered = set(InvoiceDocument.objects.values_list("invoice_id", flat=True))
        assert rendered == set(ids[2:])
    finally:
        release.set()
        t.join()
    # Then, the other claim gone, the rest is rendered, and every invoice has its two documents
    assert render_pending(limit=10) == 2
    assert render_pending(limit=10) == 0
    assert InvoiceDocument.objects.count() == 8
