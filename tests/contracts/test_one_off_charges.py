"""One-off charges and credits: on the contract's next invoice, exactly once."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from recurent.contracts.charges import charge_add, charge_remove
from recurent.contracts.models import ContractChange, HoldKind
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_batch, issue_due, preview_due
from tests import factories as f
from tests.factories import local

AT = local(2026, 1, 20)


def _contract(world, price="100"):
    p = f.product(world.company, unit_price=Decimal(price), vat_rate="standard")
    return f.contract(world.company, issuer=world.user, lines=[(p, "1")], first=local(2026, 1, 31))


def test_a_charge_goes_on_the_next_invoice_only_and_a_second_run_adds_nothing(world):
    c = _contract(world)
    ch = charge_add(contract=c, user=world.user, as_of=AT, description="Setup fee",
                    quantity="2", unit_price="25")  # fmt: skip
    issue_due(as_of=local(2026, 1, 31))
    issue_due(as_of=local(2026, 1, 31))
    issue_due(as_of=local(2026, 2, 28))
    first, second = Invoice.objects.filter(contract=c).order_by("number")
    ch.refresh_from_db()
    assert ch.invoice_id == first.pk
    assert [li.name for li in first.lines.all()][1:] == ["Setup fee"]
    assert first.net_total == Decimal("150.00")  # 100 + 2 x 25
    assert first.vat_total == Decimal("31.50")  # 21 % of 150, rounded once
    assert second.lines.count() == 1 and second.net_total == Decimal("100.00")


def test_a_credit_lowers_the_invoice_with_a_negative_quantity(world):
    c = _contract(world)
    charge_add(contract=c, user=world.user, as_of=AT, kind="credit", description="Goodwill",
               quantity="1", unit_price="30")  # fmt: skip
    issue_due(as_of=local(2026, 1, 31))
    inv = Invoice.objects.get(contract=c)
    credit = inv.lines.get(position=2)
    assert credit.quantity == Decimal("-1") and credit.unit_price == Decimal("30")
    assert credit.net == Decimal("-30.00")
    assert (inv.net_total, inv.vat_total, inv.gross_total) == (
        Decimal("70.00"), Decimal("14.70"), Decimal("84.70"),
    )  # fmt: skip


def test_a_credit_larger_than_the_invoice_sets_the_contract_aside_until_it_is_removed(world):
    c = _contract(world)
    ch = charge_add(contract=c, user=world.user, as_of=AT, kind="credit", description="Refund",
                    quantity="1", unit_price="500")  # fmt: skip
    res = issue_due(as_of=local(2026, 1, 31))
    assert res.issued == 0 and res.held and "credits" in res.held[0][1]
    c.refresh_from_db()
    assert c.hold_kind == HoldKind.DATA
    charge_remove(charge=ch, user=world.user, as_of=local(2026, 1, 31, 10))
    assert issue_due(as_of=local(2026, 1, 31, 10)).issued == 1
    assert Invoice.objects.get(contract=c).net_total == Decimal("100.00")


def test_a_removed_charge_is_not_invoiced_and_an_invoiced_one_cannot_be_removed(world):
    c = _contract(world)
    gone = charge_add(contract=c, user=world.user, as_of=AT, description="Extra hour",
                      quantity="1", unit_price="80", unit_code="HUR")  # fmt: skip
    kept = charge_add(contract=c, user=world.user, as_of=AT, description="Setup",
                      quantity="1", unit_price="10")  # fmt: skip
    charge_remove(charge=gone, user=world.user, as_of=AT)
    issue_due(as_of=local(2026, 1, 31))
    assert Invoice.objects.get(contract=c).net_total == Decimal("110.00")
    with pytest.raises(ValidationError) as e:
        charge_remove(charge=kept, user=world.user, as_of=local(2026, 2, 1))
    assert "charge" in e.value.message_dict
    actions = list(ContractChange.objects.filter(contract=c).values_list("action", flat=True))
    assert actions.count("charge_added") == 2 and actions.count("charge_removed") == 1


def test_the_preview_shows_the_charge_on_the_next_invoice_and_equals_the_issue(world):
    c = _contract(world)
    charge_add(contract=c, user=world.user, as_of=AT, description="Setup fee",
               quantity="1", unit_price="49.99")  # fmt: skip
    preview = preview_due(as_of=local(2026, 3, 31)).previews
    assert [p["net"] for p in preview] == ["149.99", "100.00", "100.00"]
    issue_due(as_of=local(2026, 3, 31))
    issued = Invoice.objects.filter(contract=c).order_by("number")
    assert [str(i.net_total) for i in issued] == [p["net"] for p in preview]
    assert [str(i.gross_total) for i in issued] == [p["total"] for p in preview]


def test_catch_up_puts_the_charge_on_the_first_missed_period_only(world):
    c = _contract(world)
    charge_add(contract=c, user=world.user, as_of=AT, description="Setup fee",
               quantity="1", unit_price="5")  # fmt: skip
    issue_due(as_of=local(2026, 4, 30))
    nets = [i.net_total for i in Invoice.objects.filter(contract=c).order_by("number")]
    assert nets == [Decimal("105.00")] + [Decimal("100.00")] * 3


def test_the_charge_is_priced_in_the_contract_currency_in_two_contracts_of_one_block(world):
    a, b = _contract(world), _contract(world)
    charge_add(contract=a, user=world.user, as_of=AT, description="Setup",
               quantity="3", unit_price="1.005")  # fmt: skip
    res = issue_batch(as_of=local(2026, 1, 31), batch_size=10)
    assert len(res.issued) == 2
    assert Invoice.objects.get(contract=a).net_total == Decimal("103.02")  # 3 x 1.005 = 3.015
    assert Invoice.objects.get(contract=b).net_total == Decimal("100.00")


@pytest.mark.parametrize(
    ("field", "kw"),
    [
        ("description", {"description": ""}),
        ("quantity", {"quantity": "0"}),
        ("quantity", {"quantity": "abc"}),
        ("unit_price", {"unit_price": "-1"}),
        ("unit_code", {"unit_code": "H-1"}),
        ("vat_rate", {"vat_category": "S", "vat_rate": "zero"}),
        ("kind", {"kind": "gift"}),
    ],
)
def test_bad_charges_are_refused_naming_the_field(world, field, kw):
    c = _contract(world)
    values = {"description": "X", "quantity": "1", "unit_price": "1", **kw}
    with pytest.raises(ValidationError) as e:
        charge_add(contract=c, user=world.user, as_of=AT, **values)
    assert field in e.value.message_dict


def test_a_cancelled_contract_takes_no_charge(world):
    from recurent.contracts.services import contract_cancel

    c = _contract(world)
    contract_cancel(contract=c, user=world.user, as_of=AT)
    with pytest.raises(ValidationError) as e:
        charge_add(contract=c, user=world.user, as_of=AT, description="X", quantity="1",
                   unit_price="1")  # fmt: skip
    assert "contract" in e.value.message_dict


def test_the_api_adds_a_charge_and_lists_it_pending(world, admin_api, viewer_api):
    c = _contract(world)
    body = {"description": "Extra hour", "quantity": "1.5", "unit_price": "120", "unit_code": "HUR"}
    r = admin_api.post(f"/contracts/{c.pk}/charges", body)
    assert r.status_code == 201, r.content
    assert r.json()["invoice_id"] is None and r.json()["quantity"] == "1.5000"
    assert viewer_api.post(f"/contracts/{c.pk}/charges", body).status_code == 403
    bad = admin_api.post(f"/contracts/{c.pk}/charges", {**body, "vat_rate": "zero"})
    assert bad.status_code in (400, 422)
    listed = admin_api.get(f"/contracts/{c.pk}/charges").json()
    assert [x["description"] for x in listed] == ["Extra hour"]
    issue_due(as_of=local(2026, 1, 31))
    assert admin_api.get(f"/contracts/{c.pk}/charges").json() == []
    assert Invoice.objects.get(contract=c).net_total == Decimal("280.00")


def test_the_api_withdraws_a_pending_charge_and_not_an_invoiced_one(world, admin_api):
    c = _contract(world)
    body = {"description": "Setup", "quantity": "1", "unit_price": "10"}
    first = admin_api.post(f"/contracts/{c.pk}/charges", body).json()
    second = admin_api.post(f"/contracts/{c.pk}/charges", body).json()
    r = admin_api.http.delete(f"/api/v1/contracts/{c.pk}/charges/{first['id']}",
                              headers={"Authorization": f"Bearer {admin_api.token}"})  # fmt: skip
    assert r.status_code == 204
    issue_due(as_of=local(2026, 1, 31))
    assert Invoice.objects.get(contract=c).net_total == Decimal("110.00")
    again = admin_api.http.delete(f"/api/v1/contracts/{c.pk}/charges/{second['id']}",
                                  headers={"Authorization": f"Bearer {admin_api.token}"})  # fmt: skip
    assert again.status_code in (400, 409, 422)
    other = admin_api.http.delete(f"/api/v1/contracts/{c.pk}/charges/{first['id']}",
                                  headers={"Authorization": f"Bearer {admin_api.token}"})  # fmt: skip
    assert other.status_code == 404
