"""Storno: a credit note with its own number that can never credit more than was invoiced."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from recurent.common import events
from recurent.common.errors import codes_of
from recurent.companies.services import series_create
from recurent.invoices.models import Invoice, InvoiceKind, InvoiceStatus
from recurent.invoices.services import SeriesClockError
from recurent.invoices.storno import invoice_storno
from tests.documents import scenarios
from tests.factories import local

LATER = local(2026, 2, 3, 12)


@pytest.fixture
def captured():
    got = []

    def listener(company_id, event_type, payload):
        if event_type.startswith("invoice."):  # contract events of the set-up are not ours
            got.append((company_id, event_type, payload))

    events.listen(listener)
    yield got
    events._listeners.remove(listener)


def test_whole_storno_mirrors_the_invoice_and_cancels_it(world, captured):
    inv = scenarios.ron_multi_rate(world)
    cn = invoice_storno(invoice=inv, lines=None, as_of=LATER, user=world.user)
    inv.refresh_from_db()
    assert inv.status == InvoiceStatus.CANCELLED
    assert cn.kind == InvoiceKind.CREDIT_NOTE and cn.credited_invoice_id == inv.pk
    assert (cn.net_total, cn.vat_total, cn.gross_total) == (
        -inv.net_total,
        -inv.vat_total,
        -inv.gross_total,
    )
    assert [(li.quantity, li.net, li.credited_line_id) for li in cn.lines.all()] == [
        (-li.quantity, -li.net, li.pk) for li in inv.lines.all()
    ]
    assert cn.full_number == "REC-000002"  # same series, next number: no gap
    assert [(e, p["number"], p["credit_note_number"]) for _, e, p in captured] == [
        ("invoice.cancelled", inv.full_number, cn.full_number)
    ]


def test_eur_storno_keeps_the_rate_and_states_vat_in_ron(world):
    inv = scenarios.eur_invoice(world)
    cn = invoice_storno(invoice=inv, lines=None, as_of=LATER, user=world.user)
    assert cn.fx_rate == inv.fx_rate and cn.vat_total_ron == -inv.vat_total_ron


def test_partial_storno_marks_partially_credited_then_the_rest_cancels(world, captured):
    inv = scenarios.ron_multi_rate(world)
    first, second = inv.lines.order_by("position")
    invoice_storno(invoice=inv, lines=[(first, Decimal("1"))], as_of=LATER, user=world.user)
    inv.refresh_from_db()
    assert inv.status == InvoiceStatus.PARTIALLY_CREDITED and captured == []
    rest = invoice_storno(invoice=inv, lines=None, as_of=LATER, user=world.user)
    assert [(li.credited_line_id, li.quantity) for li in rest.lines.all()] == [
        (first.pk, Decimal("-2")),
        (second.pk, -second.quantity),
    ]
    inv.refresh_from_db()
    assert inv.status == InvoiceStatus.CANCELLED and len(captured) == 1
    # Over the two credit notes, exactly what was invoiced was credited.
    credited = sum(c.gross_total for c in Invoice.objects.filter(credited_invoice=inv))
    assert credited == -inv.gross_total


def test_a_storno_can_never_exceed_what_was_invoiced(world):
    inv, other = scenarios.ron_multi_rate(world), scenarios.ron_multi_rate(world)
    first = inv.lines.get(position=1)  # quantity 3
    invoice_storno(invoice=inv, lines=[(first, Decimal("2"))], as_of=LATER, user=world.user)
    with pytest.raises(ValidationError) as e:
        invoice_storno(invoice=inv, lines=[(first, Decimal("1.5"))], as_of=LATER, user=world.user)
    assert codes_of(e.value) == {"lines": ["exceeds_remaining"]}
    with translation.override("en"):
        assert "line 1: 1.5 exceeds what is left to credit (1.0000 of 3.0000)" in str(e.value)
    invoice_storno(invoice=inv, lines=None, as_of=LATER, user=world.user)
    with pytest.raises(ValidationError) as e:
        invoice_storno(invoice=inv, lines=None, as_of=LATER, user=world.user)
    assert codes_of(e.value) == {"invoice": ["cancelled"]}
    with pytest.raises(ValidationError) as e:
        invoice_storno(
            invoice=other, lines=[(other.lines.first(), Decimal("0"))], as_of=LATER, user=world.user
        )
    assert codes_of(e.value) == {"lines": ["not_positive"]}


def test_a_credit_note_cannot_be_reversed_nor_lines_of_another_invoice_credited(world):
    inv, other = scenarios.ron_multi_rate(world), scenarios.exempt(world)
    with pytest.raises(ValidationError) as e:
        invoice_storno(
            invoice=inv, lines=[(other.lines.first(), Decimal("1"))], as_of=LATER, user=world.user
        )
    assert codes_of(e.value) == {"lines": ["foreign_line"]}
    cn = invoice_storno(invoice=inv, lines=None, as_of=LATER, user=world.user)
    with pytest.raises(ValidationError) as e:
        invoice_storno(invoice=cn, lines=None, as_of=LATER, user=world.user)
    assert codes_of(e.value) == {"invoice": ["credit_note"]}
    # Shown in the user's language (Romanian here), from django.po: no English to parse back.
    assert "o factură storno nu poate fi la rândul ei stornată" in str(e.value)


def test_credit_series_is_used_when_the_company_has_one_and_dates_never_go_backwards(world):
    series_create(company=world.company, code="STO", is_credit=True)
    inv = scenarios.ron_multi_rate(world)
    cn = invoice_storno(invoice=inv, lines=None, as_of=LATER, user=world.user)
    assert cn.full_number == "STO-000001"
    again = scenarios.exempt(world)
    with pytest.raises(SeriesClockError):
        invoice_storno(invoice=again, lines=None, as_of=local(2026, 2, 2), user=world.user)
    assert (
        invoice_storno(invoice=again, lines=None, as_of=LATER, user=world.user).full_number
        == "STO-000002"
    )
