"""One-off invoices: a draft without a number, issued through the engine's own rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from recurent.documents import api as documents
from recurent.documents.services import render_pending
from recurent.documents.validation import check_xml
from recurent.invoices.models import Invoice, InvoiceOrigin, InvoiceStatus
from recurent.invoices.oneoff import (
    DraftLineSpec,
    invoice_create_draft,
    invoice_draft_update,
    invoice_issue_draft,
)
from recurent.invoices.services import issue_due
from recurent.invoices.storno import invoice_storno
from recurent.payments.models import InvoiceBalance
from recurent.payments.services import payment_record
from tests import factories as f
from tests.documents import scenarios
from tests.factories import local


def codes(err: ValidationError) -> dict[str, list[str]]:
    return {k: [e.code for e in v] for k, v in err.error_dict.items()}


def free_line(qty: str = "2", price: str = "150") -> DraftLineSpec:
    return DraftLineSpec(
        quantity=Decimal(qty), name="Consultanță punctuală", unit_code="HUR", unit_name="oră",
        unit_price=Decimal(price), vat_category="S", vat_rate="standard",
    )  # fmt: skip


def make_draft(world, *, client=None, **kw):
    kw.setdefault("lines", [free_line()])
    return invoice_create_draft(
        company=world.company, client=client or f.client(world.company), series=world.series,
        as_of=kw.pop("as_of", local(2026, 2, 2, 9)), user=world.user, **kw,
    )  # fmt: skip


def test_a_draft_has_no_number_and_can_be_edited(world):
    d = make_draft(world, notes="Prima variantă")
    assert d.invoice is None and Invoice.objects.count() == 0
    product = f.product(world.company, unit_price=Decimal("80"), vat_rate="reduced")
    d = invoice_draft_update(
        draft=d, as_of=local(2026, 2, 2, 10), notes="A doua",
        lines=[DraftLineSpec(quantity=Decimal("3"), product=product), free_line("1", "10")],
    )  # fmt: skip
    lines = list(d.lines.all())
    assert [(li.name, li.unit_price, li.vat_rate) for li in lines] == [
        (product.name, Decimal("80"), "reduced"),
        ("Consultanță punctuală", Decimal("10"), "standard"),
    ]
    assert d.notes == "A doua" and Invoice.objects.count() == 0
    with pytest.raises(ValidationError) as e:
        invoice_draft_update(draft=d, as_of=local(2026, 2, 2, 11), lines=[])
    assert codes(e.value) == {"lines": ["empty"]}


def test_the_issued_one_off_invoice_takes_the_next_number_between_contract_invoices(world):
    k = f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 1, 31, 10))  # REC-000001
    d = make_draft(world, due_date=date(2026, 2, 16))
    inv = invoice_issue_draft(draft=d, as_of=local(2026, 2, 2, 9), user=world.user)
    issue_due(as_of=local(2026, 2, 28, 10))  # the contract's next period: REC-000003
    numbers = list(Invoice.objects.order_by("number").values_list("full_number", "origin"))
    assert numbers == [
        ("REC-000001", InvoiceOrigin.SCHEDULE),
        ("REC-000002", InvoiceOrigin.MANUAL),
        ("REC-000003", InvoiceOrigin.SCHEDULE),
    ]
    assert inv.contract_id is None and k.pk
    assert (inv.issue_date, inv.due_date) == (date(2026, 2, 2), date(2026, 2, 16))
    # 2 × 150 at the standard rate of 2026 (21 %): VAT by date, rounded by the engine.
    assert (inv.net_total, inv.vat_total, inv.gross_total) == (
        Decimal("300.00"), Decimal("63.00"), Decimal("363.00"),
    )  # fmt: skip
    d.refresh_from_db()
    assert d.invoice_id == inv.pk
    with pytest.raises(ValidationError) as e:
        invoice_issue_draft(draft=d, as_of=local(2026, 2, 2, 10), user=world.user)
    assert codes(e.value) == {"draft": ["issued"]}
    with pytest.raises(ValidationError):
        invoice_draft_update(draft=d, as_of=local(2026, 2, 2, 10), notes="x")


def test_a_date_before_the_series_newest_invoice_is_refused_and_nothing_is_written(world):
    f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 1, 31, 10))
    d = make_draft(world, issue_date=date(2026, 1, 30))
    with pytest.raises(ValidationError) as e:
        invoice_issue_draft(draft=d, as_of=local(2026, 2, 2, 9), user=world.user)
    assert codes(e.value) == {"issue_date": ["before_series"]}
    world.series.refresh_from_db()
    assert world.series.next_number == 2 and Invoice.objects.count() == 1
    # The series' own day is allowed: the instant moves up to its newest invoice.
    invoice_draft_update(draft=d, as_of=local(2026, 2, 2, 9), issue_date=date(2026, 1, 31))
    inv = invoice_issue_draft(draft=d, as_of=local(2026, 2, 2, 9), user=world.user)
    assert inv.issue_date == date(2026, 1, 31) and inv.full_number == "REC-000002"
    future = make_draft(world, issue_date=date(2026, 2, 3))
    with pytest.raises(ValidationError) as e:
        invoice_issue_draft(draft=future, as_of=local(2026, 2, 2, 9), user=world.user)
    assert codes(e.value) == {"issue_date": ["future"]}


def test_an_eur_one_off_invoice_keeps_the_bnr_rate_of_the_day_and_states_vat_in_lei(world):
    scenarios.eur_rate(date(2026, 2, 2), "5.0975")
    d = make_draft(world, currency="EUR", lines=[free_line("1", "100")])
    inv = invoice_issue_draft(draft=d, as_of=local(2026, 2, 2, 15), user=world.user)
    assert (inv.currency, inv.fx_rate, inv.fx_date) == ("EUR", Decimal("5.0975"), date(2026, 2, 2))
    assert inv.vat_total == Decimal("21.00") and inv.vat_total_ron == Decimal("107.05")
    no_rate = make_draft(world, currency="USD", as_of=local(2026, 2, 2, 16))
    with pytest.raises(ValidationError) as e:
        invoice_issue_draft(draft=no_rate, as_of=local(2026, 2, 2, 16), user=world.user)
    assert codes(e.value) == {"currency": ["no_rate"]}


def test_a_one_off_invoice_gets_a_valid_xml_and_a_pdf_and_can_be_paid_and_stornoed(world):
    cl = f.client(world.company)
    d = make_draft(world, client=cl, notes="Livrare unică")
    inv = invoice_issue_draft(draft=d, as_of=local(2026, 2, 2, 9), user=world.user)
    # AFTER_ISSUE ran: the payments hook wrote the invoice's balance.
    assert InvoiceBalance.objects.get(invoice=inv).outstanding == Decimal("363.00")
    assert render_pending(limit=5) == 1
    names = [n for n, _, _ in documents.attachments(inv.pk)]
    assert names == ["REC-000001.pdf", "REC-000001.xml"]
    xml = documents.document(inv.pk, "xml")
    assert xml.valid and check_xml(bytes(xml.content)) == []
    payment_record(
        company=world.company, client=cl, date=date(2026, 2, 3), amount="363.00",
        allocations=[(inv, "363.00")], as_of=local(2026, 2, 3, 9), user=world.user,
    )  # fmt: skip
    assert InvoiceBalance.objects.get(invoice=inv).outstanding == Decimal("0")
    cn = invoice_storno(invoice=inv, lines=None, as_of=local(2026, 2, 4, 9), user=world.user)
    inv.refresh_from_db()
    assert inv.status == InvoiceStatus.CANCELLED and cn.gross_total == Decimal("-363.00")


def test_bad_drafts_are_refused_by_field(world):
    other, _, _ = f.setup_company()
    with pytest.raises(ValidationError) as e:
        make_draft(world, client=f.client(other))
    assert codes(e.value) == {"client": ["other_company"]}
    with pytest.raises(ValidationError) as e:
        make_draft(world, lines=[free_line("0")])
    assert codes(e.value) == {"lines[1].quantity": ["not_positive"]}
    with pytest.raises(ValidationError) as e:
        make_draft(world, lines=[DraftLineSpec(quantity=Decimal(1), name="x", unit_price=Decimal(1),
                                               vat_rate="huge")])  # fmt: skip
    assert codes(e.value) == {"lines[1].vat_rate": ["unknown"]}
    with pytest.raises(ValidationError) as e:
        make_draft(world, currency="EUR", price_currency="USD")
    assert codes(e.value) == {"currency": ["mismatch"]}
    assert Invoice.objects.count() == 0
