"""Numbering once: invoices and credit notes take their numbers by the same rule."""

from __future__ import annotations

import pytest

from recurent.clients.models import Client
from recurent.companies.models import InvoiceSeries
from recurent.companies.services import series_create
from recurent.invoices.models import Invoice, InvoiceKind
from recurent.invoices.services import SeriesClockError, due_contracts, issue_due
from recurent.invoices.storno import invoice_storno
from tests import factories as f
from tests.factories import local


def test_a_storno_leaves_contracts_held_in_its_series_held(world):
    # Given one contract invoiced and another held for bad client data, both in series REC
    # (and no credit-note series, so the storno is numbered in REC too).
    good = f.contract(world.company, issuer=world.user)
    held = f.contract(world.company, issuer=world.user)
    Client.objects.filter(pk=held.client_id).update(street="")
    assert issue_due(as_of=local(2026, 2, 1)).issued == 1
    held.refresh_from_db()
    assert held.hold_kind == "data"
    # When the invoice is reversed,
    invoice_storno(
        invoice=Invoice.objects.get(contract=good), lines=None, as_of=local(2026, 2, 2),
        user=world.user,
    )  # fmt: skip
    # then the held contract stays set aside: nobody fixed its data.
    assert held.pk not in set(due_contracts(local(2026, 3, 5)).values_list("pk", flat=True))


def test_invoices_and_credit_notes_share_one_gapless_counter_with_yearly_restart(world):
    s = series_create(company=world.company, code="AN", yearly_restart=True)
    f.contract(world.company, issuer=world.user, series=s, first=local(2026, 12, 1))
    issue_due(as_of=local(2026, 12, 1, 10))
    first = Invoice.objects.get(series=s)
    cn = invoice_storno(invoice=first, lines=None, as_of=local(2027, 1, 1, 10), user=world.user)
    issue_due(as_of=local(2027, 1, 1, 11))
    got = list(
        Invoice.objects.filter(series=s).order_by("issued_at").values_list("kind", "year", "number")
    )
    assert got == [
        (InvoiceKind.INVOICE, 2026, 1),
        (InvoiceKind.CREDIT_NOTE, 2027, 1),
        (InvoiceKind.INVOICE, 2027, 2),
    ]
    assert cn.full_number == "AN-000001"
    s.refresh_from_db()
    assert (s.year, s.next_number, s.last_issued_at) == (2027, 3, local(2027, 1, 1, 11))
    assert cn.vat_breakdown[0].keys() == first.vat_breakdown[0].keys()


def test_a_storno_dated_before_the_series_newest_invoice_is_refused(world):
    f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 1, 31, 12))
    f.contract(world.company, issuer=world.user, first=local(2026, 3, 1))
    issue_due(as_of=local(2026, 3, 1, 12))
    first = Invoice.objects.order_by("number").first()
    assert first is not None
    before = InvoiceSeries.objects.get(pk=world.series.pk).next_number
    with pytest.raises(SeriesClockError, match="cannot go backwards"):
        invoice_storno(invoice=first, lines=None, as_of=local(2026, 2, 15), user=world.user)
    assert InvoiceSeries.objects.get(pk=world.series.pk).next_number == before
