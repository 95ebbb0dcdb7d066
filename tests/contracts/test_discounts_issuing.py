"""Discounts and trials on real invoices: issued, stored, printed, reversed, previewed."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from lxml import etree

from recurent.common.errors import codes_of
from recurent.contracts.discounts import discount_add, discount_remove
from recurent.contracts.models import ContractChange, ContractDiscount
from recurent.documents import pdf, ubl
from recurent.documents.snapshot import from_invoice
from recurent.documents.validation import check_xml
from recurent.invoices.models import Invoice, InvoiceKind
from recurent.invoices.services import contract_upcoming, issue_due, preview_due
from recurent.invoices.storno import invoice_storno
from tests import factories as f
from tests.documents.anaf import SHARED, anaf_check, fatal_rules
from tests.factories import local

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
SIGNED = local(2026, 1, 10)


def _contract(world, *prices: str, first=None):  # type: ignore[no-untyped-def]
    products = [
        f.product(world.company, unit_price=Decimal(p), vat_rate="standard") for p in prices
    ]
    return f.contract(world.company, issuer=world.user, lines=[(p, "1") for p in products],
                      first=first or local(2026, 1, 31))  # fmt: skip


def _add(world, c, **kw):  # type: ignore[no-untyped-def]
    kw.setdefault("kind", "percent")
    kw.setdefault("reason", "Reducere de lansare")
    return discount_add(contract=c, user=world.user, as_of=SIGNED, **kw)


def _invoices(c):  # type: ignore[no-untyped-def]
    return list(
        Invoice.objects.filter(contract=c, kind=InvoiceKind.INVOICE).order_by("period_index")
    )


def test_a_10_percent_discount_for_3_periods_gives_3_discounted_invoices_then_full_price(world):
    c = _contract(world, "100.00")
    _add(world, c, value="10", periods=3)

    issue_due(as_of=local(2026, 4, 30, 12))
    issue_due(as_of=local(2026, 4, 30, 12))  # run twice: nothing more

    invoices = _invoices(c)
    assert [i.net_total for i in invoices] == [Decimal("90.00")] * 3 + [Decimal("100.00")]
    assert [i.vat_total for i in invoices] == [Decimal("18.90")] * 3 + [Decimal("21.00")]
    first = invoices[0].lines.get()
    assert first.net == Decimal("90.00") and first.unit_price == Decimal("100.0000")
    assert first.allowances == [
        {"amount": "10.00", "reason": "Reducere de lansare", "percent": "10", "trial": False}
    ]
    assert invoices[3].lines.get().allowances == []


def test_the_stored_net_is_the_xml_line_net_and_the_xml_passes_both_checks(
    world, tmp_path, settings
):
    settings.RECURENT_UBL_XSD_DIR = str(SHARED / "ubl-2.1-xsd")
    c = _contract(world, "33.33", "10.01")
    _add(world, c, value="12.5", line_position=1, reason="Fidelitate")
    _add(world, c, kind="amount", value="5", reason="Voucher", periods=1)
    issue_due(as_of=local(2026, 1, 31, 12))
    inv = _invoices(c)[0]
    lines = list(inv.lines.order_by("position"))
    # 33.33 - 4.17 (12.5 %), then 5.00 split over 29.16 and 10.01 by weight: 3.72 and 1.28
    assert [li.net for li in lines] == [Decimal("25.44"), Decimal("8.73")]
    assert inv.net_total == sum(li.net for li in lines) == Decimal("34.17")
    assert inv.vat_total == Decimal("7.18")  # 34.17 x 21 %, rounded once

    xml = ubl.build(from_invoice(inv))
    assert check_xml(xml) == []
    root = etree.fromstring(xml)
    xml_nets = [
        Decimal(e.text) for e in root.findall("cac:InvoiceLine/cbc:LineExtensionAmount", NS)
    ]
    assert xml_nets == [li.net for li in lines]
    first = root.find("cac:InvoiceLine", NS)
    assert [Decimal(e.text) for e in first.findall("cac:AllowanceCharge/cbc:Amount", NS)] == [
        Decimal("4.17"), Decimal("3.72"),
    ]  # fmt: skip
    text = pdf.payload(from_invoice(inv), pdf.Style())["lines"][0]["description"]
    assert "Reducere (Fidelitate): −4,17" in text and "Reducere (Voucher): −3,72" in text

    credit = invoice_storno(invoice=inv, lines=None, as_of=local(2026, 2, 2), user=world.user)
    paths = [tmp_path / "discounted.xml", tmp_path / "storno.xml"]
    paths[0].write_bytes(xml)
    paths[1].write_bytes(credit_xml := ubl.build(from_invoice(credit)))
    assert check_xml(credit_xml) == []
    results = anaf_check(paths)
    assert [(r["file"], fatal_rules(r)) for r in results if not r["valid"]] == []


def test_a_full_storno_of_a_discounted_invoice_sums_to_zero(world):
    c = _contract(world, "19.99", "7.77")
    _add(world, c, value="33.3333")
    issue_due(as_of=local(2026, 1, 31, 12))
    inv = _invoices(c)[0]

    credit = invoice_storno(invoice=inv, lines=None, as_of=local(2026, 2, 2), user=world.user)

    assert credit.net_total + inv.net_total == 0
    assert credit.vat_total + inv.vat_total == 0
    assert credit.gross_total + inv.gross_total == 0
    for orig, back in zip(
        inv.lines.order_by("position"), credit.lines.order_by("position"), strict=True
    ):
        assert back.net == -orig.net
        assert [Decimal(a["amount"]) for a in back.allowances] == [
            -Decimal(a["amount"]) for a in orig.allowances
        ]
    assert (
        "Reducere stornată"
        in pdf.payload(from_invoice(credit), pdf.Style())["lines"][0]["description"]
    )


def test_a_storno_in_parts_gives_back_exactly_the_discount(world):
    p = f.product(world.company, unit_price=Decimal("9.99"), vat_rate="standard")
    c = f.contract(world.company, issuer=world.user, lines=[(p, "3")], first=local(2026, 1, 31))
    _add(world, c, value="10")
    issue_due(as_of=local(2026, 1, 31, 12))
    inv = _invoices(c)[0]
    line = inv.lines.get()
    assert line.allowances[0]["amount"] == "3.00"  # 29.97 x 10 %

    one = invoice_storno(
        invoice=inv, lines=[(line, Decimal(1))], as_of=local(2026, 2, 2), user=world.user
    )
    two = invoice_storno(
        invoice=inv, lines=[(line, Decimal(2))], as_of=local(2026, 2, 3), user=world.user
    )

    assert one.lines.get().allowances[0]["amount"] == "-1.00"
    assert two.lines.get().allowances[0]["amount"] == "-2.00"
    # The nets (what the discount is part of) cancel to the cent; VAT is rounded per document.
    assert one.net_total + two.net_total + inv.net_total == 0
    inv.refresh_from_db()
    assert inv.status == "cancelled"


def test_a_trial_of_one_free_period_then_the_full_price(world, tmp_path, settings):
    settings.RECURENT_UBL_XSD_DIR = str(SHARED / "ubl-2.1-xsd")
    c = _contract(world, "49.00", "1.00")
    _add(world, c, value="100", periods=1, trial=True, reason="Perioadă de probă")
    issue_due(as_of=local(2026, 2, 28, 12))
    free, paid = _invoices(c)
    assert (free.net_total, free.vat_total, free.gross_total) == (Decimal("0.00"),) * 3
    assert [a["trial"] for li in free.lines.all() for a in li.allowances] == [True, True]
    assert paid.gross_total == Decimal("60.50")
    xml = ubl.build(from_invoice(free))
    assert check_xml(xml) == []


def test_a_discount_until_a_date_and_one_from_a_later_period(world):
    c = _contract(world, "200.00")
    _add(world, c, kind="amount", value="50", until="2026-03-01", reason="Iarnă")
    _add(world, c, value="25", from_index=3, periods=1, reason="Aniversare")
    issue_due(as_of=local(2026, 4, 30, 12))
    # Jan 31 and Feb 28 start before 1 March; period 3 (Apr 30) takes 25 %.
    assert [i.net_total for i in _invoices(c)] == [
        Decimal("150.00"), Decimal("150.00"), Decimal("200.00"), Decimal("150.00"),
    ]  # fmt: skip


def test_the_preview_shows_the_discounted_amounts_the_run_then_issues(world):
    c = _contract(world, "100.00", "55.55")
    _add(world, c, value="10", periods=2)
    _add(world, c, kind="amount", value="20", line_position=2, from_index=1, periods=1)

    upcoming = contract_upcoming(contract=c, as_of=local(2026, 1, 20), count=3)
    out = io.StringIO()
    call_command("schedule", str(c.pk), "--count", "3", "--json", stdout=out)
    cli = json.loads(out.getvalue())
    preview = [
        p for p in preview_due(as_of=local(2026, 3, 31, 12)).previews if p["contract"] == c.number
    ]
    issue_due(as_of=local(2026, 3, 31, 12))

    issued = [str(i.gross_total) for i in _invoices(c)]
    assert [p["total"] for p in preview] == issued
    assert [str(u["total"]) for u in upcoming] == issued
    assert [x["total"] for x in cli] == issued
    # 10 % twice, 20 on line 2 once
    assert [x["discount"] for x in cli] == ["15.56", "35.56", "0.00"]
    assert issued[0] != issued[2]  # the discount is in the figures, not beside them


def test_bad_discounts_are_refused_naming_the_field(world):
    c = _contract(world, "10")
    cases = [
        (dict(value="150"), {"value": ["percentage_out_of_range"]}),
        (dict(kind="amount", value="0"), {"value": ["not_positive"]}),
        (dict(value="abc"), {"value": ["invalid"]}),
        (dict(value="10", trial=True), {"periods": ["trial_without_end"]}),
        (dict(value="10", line_position=2), {"line_position": ["unknown_line"]}),
        (dict(value="10", reason=" "), {"reason": ["required"]}),
        (dict(value="10", periods="0"), {"periods": ["min_value"]}),
        (dict(value="10", until="31.12.2026"), {"until": ["invalid"]}),
        (dict(kind="gift", value="10"), {"kind": ["invalid_choice"]}),
    ]
    for kw, codes in cases:
        with pytest.raises(ValidationError) as e:
            _add(world, c, **kw)
        assert codes_of(e.value) == codes, kw
    assert not ContractDiscount.objects.exists()


def test_adding_and_removing_is_in_the_contracts_history(world):
    c = _contract(world, "10")
    d = _add(world, c, value="10", periods=2)
    discount_remove(discount=d, user=world.user, as_of=SIGNED)
    actions = list(
        ContractChange.objects.filter(contract=c).order_by("pk").values_list("action", "changes")
    )
    assert [a for a, _ in actions[-2:]] == ["discount_added", "discount_removed"]
    assert actions[-1][1]["value"] == "10.0000" or actions[-1][1]["value"] == "10"
    assert not ContractDiscount.objects.filter(contract=c).exists()
    issue_due(as_of=local(2026, 1, 31, 12))
    assert _invoices(c)[0].net_total == Decimal("10.00")
