"""A reviewer changes the quantity of a discounted line (issue 19): the percentage discount
follows the new quantity, as the billing run would have priced it; a fixed amount does not."""

from __future__ import annotations

from decimal import Decimal

from recurent.contracts.discounts import discount_add
from recurent.invoices.models import Invoice, InvoiceDraft
from recurent.invoices.review import review_approve, review_update
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local

RUN_AT = local(2026, 2, 2, 9)
APPROVE_AT = local(2026, 3, 2, 10)


def _reviewed_with(world, *discounts):
    p = f.product(world.company, unit_price=Decimal("100"), vat_rate="standard", name="Licență")
    c = f.contract(world.company, issuer=world.user, lines=[(p, "1")], review_before_issue=True)
    for kind, value, reason in discounts:
        discount_add(contract=c, user=world.user, as_of=local(2026, 1, 1), kind=kind,
                     value=Decimal(value), reason=reason, line_position=1)  # fmt: skip
    issue_due(as_of=RUN_AT)
    return InvoiceDraft.objects.get(contract=c)


def _lines(d):
    return [(li.name, li.quantity, li.unit_price) for li in d.lines.all()]


def test_a_percentage_discount_follows_the_new_quantity(world):
    d = _reviewed_with(world, ("percent", "10", "Fidelitate"))
    assert _lines(d)[1] == ("Fidelitate", Decimal("-1"), Decimal("10.0000"))
    review_update(draft=d, as_of=APPROVE_AT, quantities={1: "3"})
    assert _lines(d) == [("Licență", Decimal("3"), Decimal("100")),
                         ("Fidelitate", Decimal("-1"), Decimal("30.00"))]  # fmt: skip
    inv = review_approve(draft=d, as_of=APPROVE_AT, user=world.user)
    assert inv.net_total == Decimal("270.00")  # 3 x 100.00 less 10 %


def test_after_a_fixed_amount_the_percentage_takes_what_is_left(world):
    # As the run: 15.00 off first, then 10 % of the 285.00 left = 28.50.
    d = _reviewed_with(world, ("amount", "15", "Reducere"), ("percent", "10", "Fidelitate"))
    review_update(draft=d, as_of=APPROVE_AT, quantities={1: "3"})
    assert [li[2] for li in _lines(d)] == [Decimal("100"), Decimal("15"), Decimal("28.50")]
    inv = review_approve(draft=d, as_of=APPROVE_AT, user=world.user)
    assert inv.net_total == Decimal("256.50")


def test_a_change_of_notes_alone_leaves_the_discount_as_the_run_priced_it(world):
    d = _reviewed_with(world, ("percent", "25", "Promo"))
    review_update(draft=d, as_of=APPROVE_AT, notes="checked")
    assert _lines(d)[1][2] == Decimal("25.0000")


def test_the_billing_preview_says_which_periods_wait_for_review_and_takes_no_number(world):
    plain = f.contract(world.company, issuer=world.user)
    reviewed = f.contract(world.company, issuer=world.user, review_before_issue=True)
    proforma = f.contract(world.company, issuer=world.user, proforma_first=True)
    later = f.contract(world.company, issuer=world.user)
    rows = {p["contract"]: p for p in issue_due(as_of=RUN_AT, dry_run=True).previews}
    assert (rows[reviewed.number]["kind"], rows[reviewed.number]["number"]) == ("review", "")
    assert (rows[proforma.number]["kind"], rows[proforma.number]["number"]) == ("proforma", "")
    # The two invoices take the series' first two numbers, as the run then gives them.
    assert [rows[c.number]["number"] for c in (plain, later)] == ["REC-000001", "REC-000002"]
    issue_due(as_of=RUN_AT)
    assert sorted(Invoice.objects.values_list("full_number", flat=True)) == [
        "REC-000001", "REC-000002"]  # fmt: skip
