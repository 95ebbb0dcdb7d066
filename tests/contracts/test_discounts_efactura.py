"""Discounts as BG-27 line allowances: the XML passes ANAF's official rules and our check."""

from dataclasses import replace
from decimal import Decimal

from recurent.documents import pdf, ubl
from recurent.documents.snapshot import Line, VatRow, from_invoice
from recurent.documents.validation import check_xml
from recurent.engine.discounts import Discount, DiscountKind
from recurent.engine.drafting import LineTerms, draft_invoice
from recurent.engine.vat import VatCategory, VatRateCode
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.documents.anaf import SHARED, anaf_check, fatal_rules
from tests.factories import local


def _discounted(inv: Invoice, discounts: list[Discount], index: int):
    """The issued invoice's document with its lines re-drafted by the engine with discounts."""
    terms = [
        LineTerms(
            li.name,
            "",
            li.unit_code,
            li.unit_name,
            li.quantity,
            li.unit_price,
            VatCategory(li.vat_category),
            VatRateCode.STANDARD,
        )  # fmt: skip
        for li in inv.lines.order_by("position")
    ]
    d = draft_invoice(lines=terms, issue_date=inv.issue_date, payment_term_days=15,
                      price_currency="RON", invoice_currency="RON", discounts=discounts,
                      period_index=index)  # fmt: skip
    doc = from_invoice(inv)
    lines = tuple(
        Line(position=x.position, name=x.name, quantity=x.quantity, unit_code=x.unit_code,
             unit_price=x.unit_price, vat_category=x.vat_category.value, vat_rate=x.vat_rate,
             net=x.net, allowances=tuple((a.amount, a.reason) for a in x.allowances))
        for x in d.lines
    )  # fmt: skip
    rows = tuple(VatRow(g.category.value, g.rate, g.base, g.vat) for g in d.totals.groups)
    return d, replace(doc, lines=lines, vat_rows=rows, net_total=d.totals.net,
                      vat_total=d.totals.vat, gross_total=d.totals.gross)  # fmt: skip


def test_line_and_contract_discounts_and_a_trial_make_valid_e_facturas(world, tmp_path, settings):
    settings.RECURENT_UBL_XSD_DIR = str(SHARED / "ubl-2.1-xsd")
    a = f.product(world.company, unit_price=Decimal("33.33"), vat_rate="standard")
    b = f.product(world.company, unit_price=Decimal("10.01"), vat_rate="standard")
    c = f.contract(world.company, issuer=world.user, lines=[(a, "3"), (b, "1")],
                   first=local(2026, 1, 31))  # fmt: skip
    issue_due(as_of=local(2026, 1, 31))
    inv = Invoice.objects.get(contract=c)
    cases = {
        "line-percent": [
            Discount(DiscountKind.PERCENT, Decimal("12.5"), "Reducere 12,5 %", line=1)
        ],
        "contract-amount": [Discount(DiscountKind.AMOUNT, Decimal("15"), "Reducere fidelitate")],
        "both": [
            Discount(DiscountKind.PERCENT, Decimal(10), "Reducere 10 %", line=2),
            Discount(DiscountKind.PERCENT, Decimal("7.77"), "Promoție"),
        ],
        "trial-free": [
            Discount(DiscountKind.PERCENT, Decimal(100), "Perioadă de probă", periods=1, trial=True)
        ],  # fmt: skip
    }
    paths = []
    for name, ds in cases.items():
        d, doc = _discounted(inv, ds, 0)
        assert any(li.allowances for li in d.lines), name
        xml = ubl.build(doc)
        assert check_xml(xml) == [], name
        paths.append(tmp_path / f"{name}.xml")
        paths[-1].write_bytes(xml)
    assert b"<cac:AllowanceCharge>" in paths[0].read_bytes()
    # The PDF shows each discount under its line, the line's net being after it
    _, doc = _discounted(inv, cases["line-percent"], 0)
    first = pdf.payload(doc, pdf.Style())["lines"][0]
    assert "Reducere (Reducere 12,5 %): −12,50" in first["description"]
    assert first["net"] == "87,49"  # 3 x 33.33 = 99.99, minus 12.50
    results = anaf_check(paths)
    assert [(r["file"], fatal_rules(r)) for r in results if not r["valid"]] == []
