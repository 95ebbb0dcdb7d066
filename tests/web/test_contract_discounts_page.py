"""The contract page's Discounts section: add and remove in Romanian, the next invoices priced."""

from decimal import Decimal

from django.test import Client

from recurent.companies.models import Role
from recurent.companies.services import membership_grant
from recurent.contracts.models import ContractChange, ContractDiscount
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local


def _login(world, role=None):  # type: ignore[no-untyped-def]
    u = world.user
    if role:
        u = f.user()
        membership_grant(user=u, company=world.company, role=role)
    c = Client()
    c.force_login(u)
    return c


def _section(page: str) -> str:
    return page.split('id="discounts"')[1].split('id="discount-form"')[0]


def test_an_accountant_adds_a_trial_and_a_discount_and_removes_one(world):
    p = f.product(world.company, unit_price=Decimal("100"), vat_rate="standard")
    contract = f.contract(
        world.company, issuer=world.user, lines=[(p, "1")], first=local(2027, 1, 31)
    )
    web = _login(world)
    url = f"/contracts/{contract.pk}/"
    page = web.get(url).content.decode()
    assert "Reduceri și perioade de probă" in page and 'id="discount-form"' in page

    trial = {
        "kind": "percent",
        "value": "100",
        "reason": "Perioadă de probă",
        "periods": "1",
        "trial": "on",
    }
    assert web.post(url + "discount-add/", trial).status_code == 302
    later = {
        "kind": "amount",
        "value": "15",
        "reason": "Fidelitate",
        "from_period": "3",
        "periods": "2",
    }
    assert web.post(url + "discount-add/", later).status_code == 302
    refused = web.post(
        url + "discount-add/", {**later, "value": "-1"}, follow=True
    ).content.decode()
    assert "mai mare decât zero" in refused  # the service's own message, in Romanian
    assert ContractDiscount.objects.filter(contract=contract).count() == 2

    page = web.get(url).content.decode()
    section = _section(page)
    assert "Perioadă de probă" in section and "Fidelitate" in section
    assert "perioada de probă se încheie pe 27.02.2027" in section
    # The next issue dates carry the discounted totals: free, full, then 15 off (x 1.21), full.
    upcoming = page.split('class="num upcoming-total">')[1:5]
    assert upcoming[0].startswith("0,00") and upcoming[1].startswith("121,00")
    assert upcoming[2].startswith("102,85") and upcoming[3].startswith("102,85")

    fidelity = ContractDiscount.objects.get(reason="Fidelitate")
    assert web.post(url + "discount-remove/", {"discount": fidelity.pk}).status_code == 302
    assert "Fidelitate" not in _section(web.get(url).content.decode())
    actions = list(
        ContractChange.objects.filter(contract=contract).values_list("action", flat=True)
    )
    assert actions.count("discount_added") == 2 and "discount_removed" in actions
    history = page.split("timeline")[1]
    assert "Reducere adăugată" in history and "Fidelitate: −15" in history


def test_a_viewer_sees_the_discounts_but_cannot_change_them(world):
    from recurent.contracts.discounts import discount_add

    p = f.product(world.company, unit_price=Decimal("100"), vat_rate="standard")
    contract = f.contract(
        world.company, issuer=world.user, lines=[(p, "1")], first=local(2026, 1, 31)
    )
    discount_add(contract=contract, user=world.user, as_of=local(2026, 1, 2), kind="percent",
                 value="10", reason="Promoție")  # fmt: skip
    web = _login(world, Role.VIEWER)
    page = web.get(f"/contracts/{contract.pk}/").content.decode()
    assert "Promoție" in page and 'id="discount-form"' not in page
    assert web.post(f"/contracts/{contract.pk}/discount-add/", {"value": "1"}).status_code == 403
    issue_due(as_of=local(2026, 1, 31, 12))
    inv = Invoice.objects.get(contract=contract)
    assert inv.net_total == Decimal("90.00")
    # The invoice page shows the discount under its line, as the PDF does.
    assert "Reducere (Promoție): −10,00" in web.get(f"/invoices/{inv.pk}/").content.decode()
