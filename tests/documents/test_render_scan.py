"""Issue 22: the worker's search for invoices without their XML starts where the last one found
work, not at the first invoice (at 100,000 invoices walking every rendered one on each call made
the documents phase grow with the square of the run); once a minute it starts from the first
invoice again, so an invoice with a lower id that shows up late (a block committed after a later
one on PostgreSQL) is still rendered."""

from recurent.documents import services
from recurent.documents.models import InvoiceDocument, RenderFailure
from recurent.documents.services import render_pending
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local


def _issued(world, n):
    for _ in range(n):
        f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 1, 31, 10))
    return list(Invoice.objects.order_by("pk"))


def _xml(inv):
    return InvoiceDocument.objects.filter(invoice=inv, kind="xml").exists()


def test_the_search_resumes_past_rendered_invoices_and_starts_over_once_a_minute(
    world, monkeypatch
):
    clock = [1000.0]
    monkeypatch.setattr(services.time, "monotonic", lambda: clock[0])
    first, *_, last = _issued(world, 4)
    assert render_pending(limit=10) == 4
    assert render_pending(limit=10) == 0
    # As if the first invoice's block had committed late: it has no XML, below where the
    # search now starts.
    InvoiceDocument.objects.filter(invoice=first).delete()
    clock[0] += 30
    assert render_pending(limit=10) == 0 and not _xml(first)
    # The minute passes: the search starts from the first invoice again and finds it.
    clock[0] += services.SCAN_FROM_START_EVERY
    assert render_pending(limit=10) == 1 and _xml(first)
    # New invoices (higher ids) are found at once, without waiting for the minute.
    newer = _issued(world, 2)[-1]
    assert newer.pk > last.pk
    clock[0] += 1
    assert render_pending(limit=10) == 2 and _xml(newer)


def test_while_a_render_is_failing_every_search_starts_from_the_first_invoice(world, monkeypatch):
    monkeypatch.setattr(services.time, "monotonic", lambda: 1000.0)
    first, second = _issued(world, 2)
    assert render_pending(limit=10) == 2
    assert render_pending(limit=10) == 0  # the search now starts after the last invoice
    InvoiceDocument.objects.filter(invoice=first).delete()
    RenderFailure.objects.create(invoice=second, company=world.company, attempts=1, reason="x",
                                 first_failed_at=local(2026, 1, 31, 10),
                                 last_failed_at=local(2026, 1, 31, 10),
                                 next_attempt_at=local(2026, 1, 31, 10))  # fmt: skip
    assert render_pending(limit=10) == 1 and _xml(first)
