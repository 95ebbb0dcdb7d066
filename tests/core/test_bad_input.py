"""Bad input is refused with the field and the reason, and nothing is half-written."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from recurent.clients.services import client_create
from recurent.contracts.models import Contract
from recurent.contracts.services import LineSpec, contract_create, contract_update
from tests import factories as f
from tests.factories import local

# Service errors read in English here, as the API and the command line show them.
pytestmark = pytest.mark.usefixtures("english")


def fields_of(err: ValidationError) -> dict:
    return err.message_dict


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("tax_id", "RO18547291", "tax_id_invalid"),
        ("iban", "RO48AAAA1B31007593840000", "iban_invalid"),
        ("county", "XX", "county_unknown"),
    ],
)
def test_client_with_bad_identifiers_is_refused(world, field, value, reason):
    with pytest.raises(ValidationError) as e:
        f.client(world.company, **{field: value})
    # Errors carry a code (the message itself is in the user's language).
    assert reason in [x.code for x in e.value.error_dict[field]]


def test_individual_with_bad_cnp_and_bucharest_without_sector(world):
    with pytest.raises(ValidationError) as e:
        client_create(company=world.company, kind="individual", name="Ion", tax_id="1800101221145",
                      street="Str. A 1", city="Cluj", county="CJ")  # fmt: skip
    assert "tax_id" in fields_of(e.value)
    with pytest.raises(ValidationError) as e:
        f.client(world.company, county="B", city="București")
    assert e.value.error_dict["city"][0].code == "sector_required"
    ok = f.client(world.company, county="București", city="Sector 3")
    assert (ok.county, ok.city) == ("RO-B", "SECTOR3")


def test_product_negative_price_and_unknown_vat_rate(world):
    with pytest.raises(ValidationError) as e:
        f.product(world.company, unit_price=Decimal("-1"))
    assert "unit_price" in fields_of(e.value)
    with pytest.raises(ValidationError) as e:
        f.product(world.company, vat_rate="19%")
    assert "vat_rate" in fields_of(e.value)
    with pytest.raises(ValidationError) as e:
        f.product(world.company, vat_category="E", vat_rate="standard")
    assert "vat_rate" in fields_of(e.value)


def test_contract_end_before_start_zero_quantity_and_bad_cycle(world):
    p = f.product(world.company)
    cl = f.client(world.company)
    base = dict(company=world.company, client=cl, number="X-1", signed_on=local(2026, 1, 1).date(),
                first_issue_at=local(2026, 2, 1), issuer=world.user)  # fmt: skip
    with pytest.raises(ValidationError) as e:
        contract_create(**base, ends_at=local(2026, 1, 1), lines=[LineSpec(p, Decimal("1"))])
    assert "ends_at" in fields_of(e.value)
    with pytest.raises(ValidationError) as e:
        contract_create(**base, lines=[LineSpec(p, Decimal("0"))])
    assert "lines[1].quantity" in fields_of(e.value)
    with pytest.raises(ValidationError) as e:
        contract_create(**base, lines=[LineSpec(p, Decimal("1"), unit_price=Decimal("-5"))])
    assert "lines[1].unit_price" in fields_of(e.value)
    with pytest.raises(ValidationError) as e:
        contract_create(**base, cycle="days", every_days=0, lines=[LineSpec(p, Decimal("1"))])
    assert "every_days" in fields_of(e.value)
    with pytest.raises(ValidationError) as e:
        contract_create(**base, lines=[])
    assert "lines" in fields_of(e.value)
    assert not Contract.objects.exists()  # nothing half-written


def test_billing_shape_is_frozen_once_invoiced_but_other_changes_are_audited(world):
    from recurent.invoices.services import issue_due

    c = f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    contract_update(contract=c, user=world.user, payment_term_days=30)
    issue_due(as_of=local(2026, 2, 1))
    with pytest.raises(ValidationError, match="cannot change once invoices were issued"):
        contract_update(contract=c, user=world.user, cycle="quarterly")
    c = contract_update(
        contract=c, user=world.user, ends_at=local(2026, 12, 31) + timedelta(days=1)
    )
    actions = list(c.changes.values_list("action", flat=True))
    assert actions.count("updated") == 2
    change = c.changes.filter(action="updated").order_by("at", "pk").first()
    assert change.changes == {"payment_term_days": [15, 30]} and change.user == world.user


def test_a_product_of_another_currency_needs_a_price(world):
    p = f.product(world.company, currency="EUR")
    with pytest.raises(ValidationError) as e:
        f.contract(world.company, issuer=world.user, lines=[(p, "1")])
    assert "lines[1].product" in fields_of(e.value)


def test_company_vat_flag_must_agree_with_the_ro_prefix(db):
    with pytest.raises(ValidationError) as e:
        f.company(cui="18547290", vat_payer=True)
    assert e.value.error_dict["cui"][0].code == "cui_prefix"
    with pytest.raises(ValidationError) as e:
        f.company(cui="RO18547290", vat_payer=False)
    assert "cui" in e.value.message_dict
    assert f.company(cui="18547290", vat_payer=False).cui == "18547290"
