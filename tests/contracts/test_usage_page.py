"""The usage page of a contract period: settings, a quantity per line, a CSV upload."""

from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from recurent.companies.models import Role
from recurent.companies.services import membership_grant
from recurent.contracts.models import ContractLine, UsageRecord
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local


def _web(world, role=None):
    u = world.user
    if role:
        u = f.user()
        membership_grant(user=u, company=world.company, role=role)
    c = Client()
    c.force_login(u)
    return c


def test_an_accountant_makes_a_line_variable_records_usage_and_it_is_invoiced(world):
    p = f.product(world.company, name="Apa", unit_price=Decimal("2"))
    c = f.contract(world.company, issuer=world.user, lines=[(p, "1")], first=local(2026, 1, 31))
    web = _web(world)
    url = f"/contracts/{c.pk}/usage/"
    r = web.post(url, {"action": "settings", "line": "1", "variable": "on", "meter": "sum",
                       "tiers": "10:2; :1", "minimum_charge": "", "default_quantity": ""})  # fmt: skip
    assert r.status_code == 302
    line = ContractLine.objects.get(contract=c)
    assert line.variable and line.tiers == [
        {"up_to": "10", "unit_price": "2"}, {"up_to": None, "unit_price": "1"},
    ]  # fmt: skip
    assert web.post(url, {"action": "record", "line": "1", "quantity": "15"}).status_code == 302
    bad = web.post(url, {"action": "record", "line": "1", "quantity": "x"}, follow=True)
    assert "nu este un număr" in bad.content.decode()
    page = web.get(url + "?period=1").content.decode()
    assert "15" in page and 'name="quantity"' in page and "în așteptare" in page
    wrong = web.post(url, {"action": "record", "line": "1", "quantity": "99"})
    assert wrong.status_code == 302
    web.post(url, {"action": "remove", "record": UsageRecord.objects.get(quantity=99).pk})
    issue_due(as_of=local(2026, 1, 31))
    assert Invoice.objects.get(contract=c).net_total == Decimal("25.00")  # 10 x 2 + 5 x 1
    assert UsageRecord.objects.get().invoice_id is not None


def test_a_csv_upload_from_the_page_imports_all_rows_or_none(world):
    p = f.product(world.company, name="Apa", unit_price=Decimal("2"))
    c = f.contract(world.company, issuer=world.user, lines=[(p, "1")], first=local(2026, 1, 31))
    ContractLine.objects.filter(contract=c).update(variable=True)
    web = _web(world)
    url = f"/contracts/{c.pk}/usage/"
    bad = SimpleUploadedFile("u.csv", f"contract,line,quantity\n{c.number},1,3\nX,1,1\n".encode())
    page = web.post(url, {"action": "import", "file": bad}, follow=True).content.decode()
    assert "rândul 3: contract" in page and not UsageRecord.objects.exists()
    good = SimpleUploadedFile("u.csv", f"contract,line,quantity\n{c.number},1,3\n".encode())
    web.post(url, {"action": "import", "file": good})
    assert UsageRecord.objects.get().quantity == Decimal("3")


def test_a_viewer_sees_the_usage_but_cannot_record_it(world):
    c = f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    ContractLine.objects.filter(contract=c).update(variable=True)
    web = _web(world, Role.VIEWER)
    url = f"/contracts/{c.pk}/usage/"
    assert web.get(url).status_code == 200
    assert web.post(url, {"action": "record", "line": "1", "quantity": "1"}).status_code == 403
    assert not UsageRecord.objects.exists()


def test_the_contract_page_shows_pending_usage_and_links_each_period_to_its_page(world):
    p = f.product(world.company, name="Apa", unit_price=Decimal("2"))
    c = f.contract(world.company, issuer=world.user, lines=[(p, "1")], first=local(2026, 1, 31))
    ContractLine.objects.filter(contract=c).update(variable=True)
    from recurent.contracts.usage import usage_record

    usage_record(contract=c, line_position=1, quantity="12.5", as_of=local(2026, 1, 2),
                 user=world.user)  # fmt: skip
    page = _web(world).get(f"/contracts/{c.pk}/").content.decode()
    assert f"/contracts/{c.pk}/usage/?period=2" in page
    assert "linia 1 12,5" in page


def test_the_company_settings_page_sets_the_readings_cut_off(world):
    web = _web(world)
    assert 'name="usage_cutoff_days"' in web.get("/settings/").content.decode()
    c = world.company
    body = {
        "legal_name": c.legal_name, "cui": c.cui, "street": c.street, "city": c.city,
        "county": c.county, "country": "RO", "postal_code": c.postal_code, "iban": c.iban,
        "bank": c.bank, "vat_payer": "on", "email": c.email, "phone": "", "trade_register": "",
        "share_capital": "",
    }  # fmt: skip
    assert web.post("/settings/", body | {"usage_cutoff_days": "9"}).status_code == 302
    c.refresh_from_db()
    assert c.usage_cutoff_days == 9
    assert web.post("/settings/", body).status_code == 302  # absent: kept as it is
    c.refresh_from_db()
    assert c.usage_cutoff_days == 9
