"""Proformas: their own series, "Factură proformă" on the PDF, no invoice until converted."""

from __future__ import annotations

import subprocess
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from recurent.documents.proforma import render
from recurent.invoices.models import Invoice
from recurent.invoices.oneoff import DraftLineSpec, invoice_create_draft, invoice_draft_update
from recurent.invoices.proforma import proforma_convert, proforma_issue
from tests import factories as f
from tests.factories import local


def _draft(world):
    return invoice_create_draft(
        company=world.company, client=f.client(world.company), series=world.series,
        as_of=local(2026, 2, 2, 9), user=world.user,
        lines=[DraftLineSpec(quantity=Decimal(2), name="Curs", unit_price=Decimal("500"))],
    )  # fmt: skip


def test_a_proforma_is_numbered_in_its_series_and_is_no_invoice(world):
    d = proforma_issue(
        draft=_draft(world), as_of=local(2026, 2, 2, 10), user=world.user, render=render
    )
    second = proforma_issue(
        draft=_draft(world), as_of=local(2026, 2, 2, 11), user=world.user, render=render
    )
    assert (d.proforma_number, second.proforma_number) == ("PF-000001", "PF-000002")
    assert Invoice.objects.count() == 0  # no e-Factura, no VAT report, no balance
    world.series.refresh_from_db()
    assert world.series.next_number == 1  # the invoice series is untouched
    text = subprocess.run(["pdftotext", "-", "-"], input=bytes(d.proforma_pdf),
                          capture_output=True, check=True).stdout.decode()  # fmt: skip
    flat = " ".join(text.split())
    assert "FACTURĂ PROFORMĂ" in flat and "PF-000001" in flat and "1.210,00" in flat
    with pytest.raises(ValidationError) as e:
        invoice_draft_update(draft=d, as_of=local(2026, 2, 2, 12), notes="altceva")
    assert "draft" in e.value.error_dict
    with pytest.raises(ValidationError):
        proforma_issue(draft=d, as_of=local(2026, 2, 2, 12), user=world.user, render=render)


def test_a_proforma_converted_by_hand_becomes_an_invoice_linked_to_it(world):
    d = proforma_issue(
        draft=_draft(world), as_of=local(2026, 2, 2, 10), user=world.user, render=render
    )
    inv = proforma_convert(draft=d, as_of=local(2026, 2, 5, 10), user=world.user)
    d.refresh_from_db()
    assert d.invoice_id == inv.pk and inv.full_number == "REC-000001"
    assert inv.issue_date.isoformat() == "2026-02-05" and inv.gross_total == Decimal("1210.00")
    with pytest.raises(ValidationError):
        proforma_convert(draft=d, as_of=local(2026, 2, 5, 11), user=world.user)
