"""A contract cancelled in the middle of a period it has paid for (issue 19): under the company's
"immediately" proration policy the unused days come back as a credit note of that period's
invoice; under "next period" (the default) nothing is credited unless asked."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from recurent.common import clock
from recurent.companies.services import company_update
from recurent.contracts.discounts import discount_add
from recurent.contracts.models import ContractChange, ContractStatus
from recurent.invoices.cancellation import contract_cancel_crediting
from recurent.invoices.models import Invoice, InvoiceKind, InvoiceStatus
from recurent.invoices.services import issue_due
from recurent.invoices.storno import invoice_storno
from tests import factories as f
from tests.api.conftest import accountant_api  # noqa: F401
from tests.factories import local
from tests.web.conftest import login


def _immediately(world):
    company_update(company=world.company, proration_policy="immediately")


def _monthly(world, *, price="100", qty="1", in_arrears=False, extra=None):
    p = f.product(world.company, unit_price=Decimal(price), vat_rate="standard", name="Abonament")
    lines = [(p, qty), *(extra or [])]
    return f.contract(world.company, issuer=world.user, lines=lines, first=local(2026, 1, 1),
                      in_arrears=in_arrears)  # fmt: skip


def _cancel(world, c, at, **kw):
    return contract_cancel_crediting(contract=c, user=world.user, as_of=at, **kw)


def test_cancelled_on_the_22nd_the_last_ten_days_of_january_come_back(world):
    _immediately(world)
    c = _monthly(world)
    issue_due(as_of=local(2026, 1, 1))
    jan = Invoice.objects.get(contract=c, period_start="2026-01-01")
    c, credit = _cancel(world, c, local(2026, 1, 22, 15))
    assert c.status == ContractStatus.CANCELLED and c.next_issue_at is None
    assert credit is not None and credit.kind == InvoiceKind.CREDIT_NOTE
    assert credit.credited_invoice_id == jan.pk
    (line,) = credit.lines.all()
    # 22..31 January: 10 of 31 days of one subscription of 100.00; the share as a quantity.
    assert line.quantity == Decimal("-0.3226") and line.unit_price == Decimal("100")
    assert line.net == Decimal("-32.26") and line.credited_line.invoice_id == jan.pk
    assert (credit.net_total, credit.vat_total) == (Decimal("-32.26"), Decimal("-6.77"))  # 21 %
    assert "22.01.2026-31.01.2026 (10/31 zile)" in credit.notes and c.number in credit.notes
    jan.refresh_from_db()
    assert jan.status == InvoiceStatus.PARTIALLY_CREDITED
    change = ContractChange.objects.get(contract=c, action="unused_days_credited")
    assert change.changes["credit_note"] == credit.full_number
    # Nothing more is invoiced, the credit note does not come twice.
    issue_due(as_of=local(2026, 2, 1))
    assert not Invoice.objects.filter(contract=c, period_start="2026-02-01").exists()
    with pytest.raises(ValidationError):
        _cancel(world, c, local(2026, 1, 23))
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).count() == 1


def test_every_line_gives_back_its_share_and_its_discount_share(world):
    _immediately(world)
    other = f.product(world.company, unit_price=Decimal("30"), vat_rate="reduced", name="Suport")
    c = _monthly(world, price="310", qty="2", extra=[(other, "3")])
    discount_add(contract=c, user=world.user, kind="percent", value=Decimal("10"),
                 reason="Fidelitate", line_position=1, as_of=local(2025, 12, 20))  # fmt: skip
    issue_due(as_of=local(2026, 1, 1))
    jan = Invoice.objects.get(contract=c, period_start="2026-01-01")
    assert [li.net for li in jan.lines.all()] == [Decimal("558.00"), Decimal("90.00")]
    _c, credit = _cancel(world, c, local(2026, 1, 11, 9))  # 11..31: 21 of 31 days
    first, second = credit.lines.all()
    # 2 x 21/31 = 1.3548 (4 decimals) x 310.00 = 419.99, less 10 % of it given back: 42.00.
    assert first.quantity == Decimal("-1.3548") and first.net == Decimal("-377.99")
    assert first.allowances[0]["amount"] == "-42.00"
    # 3 x 21/31 = 2.0323 x 30.00 = 60.97 (the money share, 90 x 21/31, is 60.97 too).
    assert second.quantity == Decimal("-2.0323") and second.net == Decimal("-60.97")
    assert credit.net_total == Decimal("-438.96")


def test_cancelled_on_the_first_day_the_whole_period_comes_back(world):
    _immediately(world)
    c = _monthly(world)
    issue_due(as_of=local(2026, 1, 1))
    _c, credit = _cancel(world, c, local(2026, 1, 1, 12))
    assert credit.net_total == Decimal("-100.00")
    jan = Invoice.objects.get(contract=c, period_start="2026-01-01", kind=InvoiceKind.INVOICE)
    assert jan.status == InvoiceStatus.CANCELLED


def test_a_part_already_credited_is_not_credited_again(world):
    _immediately(world)
    c = _monthly(world, qty="1")
    issue_due(as_of=local(2026, 1, 1))
    jan = Invoice.objects.get(contract=c, period_start="2026-01-01")
    (li,) = jan.lines.all()
    invoice_storno(
        invoice=jan, lines=[(li, Decimal("0.9"))], as_of=local(2026, 1, 5), user=world.user
    )
    _c, credit = _cancel(world, c, local(2026, 1, 11))  # 21/31 = 0.6774 > the 0.1 left
    assert credit.lines.get().quantity == Decimal("-0.1000")
    jan.refresh_from_db()
    assert jan.status == InvoiceStatus.CANCELLED


@pytest.mark.parametrize(
    "policy, ask, credited",
    [("next_period", None, False), ("next_period", True, True), ("immediately", False, False)],
)
def test_the_policy_decides_unless_the_person_does(world, policy, ask, credited):
    company_update(company=world.company, proration_policy=policy)
    c = _monthly(world)
    issue_due(as_of=local(2026, 1, 1))
    _c, credit = _cancel(world, c, local(2026, 1, 22), credit_unused=ask)
    assert (credit is not None) is credited
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists() is credited


def test_nothing_to_give_back_in_arrears_at_period_end_or_before_the_invoice(world):
    _immediately(world)
    arrears = _monthly(world, in_arrears=True)
    assert _cancel(world, arrears, local(2026, 1, 22))[1] is None
    c = _monthly(world)
    issue_due(as_of=local(2026, 1, 1))
    c, credit = _cancel(world, c, local(2026, 1, 22), at_period_end=True)
    assert credit is None and c.final_index == 0
    late = _monthly(world)  # January due but not invoiced yet: nothing paid, nothing back
    assert _cancel(world, late, local(2026, 1, 22))[1] is None
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()


def _january_paid_page_on_the_22nd(world, monkeypatch):
    """A monthly contract invoiced for January, the company prorating at once, and a logged-in
    browser on 22 January."""
    _immediately(world)
    c = _monthly(world)
    issue_due(as_of=local(2026, 1, 1))
    monkeypatch.setattr(clock, "now", lambda: local(2026, 1, 22, 10))
    return c, login(world.user)


def test_the_contract_page_cancels_and_credits_with_the_box_ticked(world, monkeypatch):
    c, web = _january_paid_page_on_the_22nd(world, monkeypatch)
    page = web.get(reverse("web:contract", args=[c.pk])).content.decode()
    assert 'name="credit_unused" id="id_credit_unused" checked' in page
    r = web.post(reverse("web:contract-action", args=[c.pk, "cancel"]), {"credit_unused": "on"},
                 follow=True)  # fmt: skip
    credit = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert credit.full_number in r.content.decode() and credit.net_total == Decimal("-32.26")
    history = web.get(reverse("web:contract", args=[c.pk])).content.decode()
    assert credit.full_number in history


def test_the_contract_page_box_left_unticked_credits_nothing(world, monkeypatch):
    c, web = _january_paid_page_on_the_22nd(world, monkeypatch)
    web.post(reverse("web:contract-action", args=[c.pk, "cancel"]), {})
    c.refresh_from_db()
    assert c.status == ContractStatus.CANCELLED
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()


def test_the_api_cancels_and_names_the_credit_note(world, accountant_api, monkeypatch):  # noqa: F811
    _immediately(world)
    c, c2 = _monthly(world), _monthly(world)
    issue_due(as_of=local(2026, 1, 1))
    monkeypatch.setattr(clock, "now", lambda: local(2026, 1, 22, 10))
    r = accountant_api.post(f"/contracts/{c.pk}/cancel", {})
    assert r.status_code == 200, r.content
    out = r.json()
    assert out["status"] == "cancelled"
    credit = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert out["credit_note"]["full_number"] == credit.full_number
    assert Decimal(out["credit_note"]["gross_total"]) == credit.gross_total
    r = accountant_api.post(f"/contracts/{c2.pk}/cancel", {"credit_unused": False})
    assert r.status_code == 200 and r.json()["credit_note"] is None
