"""The contract page: add, list and remove one-off charges for the next invoice."""

from decimal import Decimal

from django.test import Client

from recurent.companies.models import Role
from recurent.companies.services import membership_grant
from recurent.contracts.models import ContractCharge
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local


def _login(world, role=None):
    u = world.user
    if role:
        u = f.user()
        membership_grant(user=u, company=world.company, role=role)
    c = Client()
    c.force_login(u)
    return c


def test_an_accountant_adds_and_removes_a_charge_from_the_contract_page(world):
    contract = f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    web = _login(world)
    url = f"/contracts/{contract.pk}/"
    form = {"kind": "charge", "description": "Installation", "quantity": "1",
            "unit_price": "150", "unit_code": "C62", "vat_category": "S", "vat_rate": "standard"}  # fmt: skip
    assert web.post(url + "charge-add/", form).status_code == 302
    assert (
        web.post(
            url + "charge-add/", {**form, "description": "Extra", "unit_price": "x"}
        ).status_code
        == 302
    )
    page = web.get(url).content.decode()
    assert "Installation" in page and 'id="charge-form"' in page
    assert ContractCharge.objects.filter(contract=contract).count() == 1  # the bad one refused
    extra = {**form, "description": "Extra hour", "unit_price": "60", "unit_code": "HUR"}
    web.post(url + "charge-add/", extra)
    hour = ContractCharge.objects.get(description="Extra hour")
    web.post(url + "charge-remove/", {"charge": hour.pk})
    issue_due(as_of=local(2026, 1, 31))
    inv = Invoice.objects.get(contract=contract)
    assert [li.name for li in inv.lines.order_by("position")][1:] == ["Installation"]
    assert (
        "Installation"
        not in web.get(url).content.decode().split('id="charges"')[1].split("</div>")[0]
    )
    assert not ContractCharge.objects.filter(contract=contract, invoice__isnull=True).exists()


def test_a_viewer_sees_the_pending_charges_but_cannot_change_them(world):
    from recurent.contracts.charges import charge_add

    contract = f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    charge_add(contract=contract, user=world.user, as_of=local(2026, 1, 2), description="Setup",
               quantity="1", unit_price=Decimal("10"))  # fmt: skip
    web = _login(world, Role.VIEWER)
    page = web.get(f"/contracts/{contract.pk}/").content.decode()
    assert "Setup" in page and 'id="charge-form"' not in page
    assert (
        web.post(f"/contracts/{contract.pk}/charge-add/", {"description": "X"}).status_code == 403
    )
    assert ContractCharge.objects.count() == 1
