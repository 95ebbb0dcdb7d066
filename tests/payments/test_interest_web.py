"""Late-payment interest in the web app: the settings page (rule, due today, the
"Facturează penalități" button) and the contract form's override."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from recurent.common import clock
from recurent.companies.models import Company, Role
from recurent.contracts.services import contract_update
from recurent.payments.models import InterestCharge
from recurent.payments.services import payment_record
from recurent.web.forms import ContractForm
from tests.factories import local
from tests.payments.helpers import issued
from tests.web.conftest import client_for, login

D = Decimal
URL = "/settings/interest/"


@pytest.fixture
def late(world, monkeypatch):
    cl, [inv] = issued(world, price="1000.00")
    payment_record(company=world.company, client=cl, date=date(2026, 3, 2), amount="210.00",
                   allocations=[(inv, D("210.00"))], as_of=local(2026, 3, 2), user=world.user)  # fmt: skip
    monkeypatch.setattr(clock, "now", lambda: local(2026, 3, 31, 10))
    return cl, inv


@pytest.mark.django_db
def test_settings_saved_checked_and_linked(world):
    web = login(world.user)
    assert URL in web.get("/settings/").content.decode()
    page = web.get(URL).content.decode()
    assert "Penalități de întârziere" in page
    r = web.post(URL, {"interest_enabled": "on", "interest_rule": "contractual",
                       "interest_min_amount": "5"})  # fmt: skip
    assert r.status_code == 200  # refused: a contractual rule needs its rate a day
    assert "regula contractuală cere o cotă pe zi" in r.content.decode()
    r = web.post(URL, {"interest_enabled": "on", "interest_rule": "legal",
                       "interest_min_amount": "5.00"})  # fmt: skip
    assert r.status_code == 302
    c = Company.objects.get(pk=world.company.pk)
    assert (c.interest_enabled, c.interest_rule, c.interest_min_amount) == (True, "legal", D("5"))
    # An accountant sees the page but cannot change the settings.
    acc = client_for(world, Role.ACCOUNTANT)
    acc.post(URL, {"interest_rule": "legal_consumer", "interest_min_amount": "0"})
    assert Company.objects.get(pk=world.company.pk).interest_rule == "legal"


@pytest.mark.django_db
def test_button_issues_the_interest_invoices(world, late):
    Company.objects.filter(pk=world.company.pk).update(interest_enabled=True)
    cl, inv = late
    web = client_for(world, Role.ACCOUNTANT)
    page = web.get(URL).content.decode()
    assert cl.name in page and "18,73 RON" in page and "Facturează penalități" in page
    viewer = client_for(world, Role.VIEWER)
    assert viewer.post(URL + "issue/", {"email": "1"}).status_code == 403
    r = web.post(URL + "issue/", {"email": "1"}, follow=True)
    [charge] = InterestCharge.objects.all()
    assert charge.interest_invoice.full_number in r.content.decode()
    assert charge.amount == D("18.73")
    assert "Nu există penalități de întârziere de facturat astăzi." in web.get(URL).content.decode()


@pytest.mark.django_db
def test_contract_form_and_update_take_the_override(world, late):
    cl, inv = late
    form = ContractForm(company=world.company)
    assert {"interest_rule", "interest_daily_percent"} <= set(form.fields)
    assert "interest_rule" in ContractForm.BILLING
    c = contract_update(contract=inv.contract, user=world.user, interest_rule="contractual",
                        interest_daily_percent=D("0.05"))  # fmt: skip
    c.refresh_from_db()
    assert (c.interest_rule, c.interest_daily_percent) == ("contractual", D("0.05"))


@pytest.mark.django_db
def test_contracts_with_a_contractual_rule_and_no_rate_are_named(world, late):
    cl, inv = late
    Company.objects.filter(pk=world.company.pk).update(interest_enabled=True)
    contract_update(contract=inv.contract, user=world.user, interest_rule="contractual")
    page = login(world.user).get(URL).content.decode()
    assert 'id="interest-without-rate"' in page and inv.contract.number in page
    assert 'id="issue-interest"' not in page  # its invoice is skipped: nothing due
