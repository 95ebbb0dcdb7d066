"""The guided first day (issue 16): "Issue now" on a due contract goes through the worker's own
service (one invoice, only this contract, never twice); the new-contract form suggests the next
number and today's date."""

import re
from datetime import date

import pytest
from django.urls import reverse

from recurent.common import clock
from recurent.invoices.models import Invoice
from recurent.web.views.contracts import suggest_number
from tests import factories as f
from tests.factories import local


@pytest.fixture
def now(monkeypatch):
    at = local(2026, 3, 10, 12)
    monkeypatch.setattr(clock, "now", lambda: at)
    return at


def test_issue_now_issues_this_contract_once_and_leaves_the_others_to_the_worker(
    admin_client, world, now
):
    mine = f.contract(world.company, issuer=world.user, first=local(2026, 3, 1))
    other = f.contract(world.company, issuer=world.user, first=local(2026, 2, 1))
    page = admin_client.get(reverse("web:contract", args=[mine.pk])).content.decode()
    assert 'id="issue-now"' in page
    url = reverse("web:contract-action", args=[mine.pk, "issue-now"])
    r = admin_client.post(url, follow=True)
    [inv] = Invoice.objects.filter(contract=mine)
    assert f"Factura {inv.full_number} a fost emisă." in r.content.decode()
    assert inv.issue_date == date(2026, 3, 10)
    # The same service as the worker: the contract's cursor moved, the billing period is taken.
    mine.refresh_from_db()
    assert mine.next_index == 1 and mine.next_issue_at == local(2026, 4, 1)
    assert not Invoice.objects.filter(contract=other).exists()
    # A second click issues nothing more.
    r = admin_client.post(url, follow=True)
    assert Invoice.objects.filter(contract=mine).count() == 1
    assert 'id="issue-now"' not in r.content.decode()


def test_a_contract_not_yet_due_is_not_issued(admin_client, world, now):
    later = f.contract(world.company, issuer=world.user, first=local(2026, 4, 1))
    page = admin_client.get(reverse("web:contract", args=[later.pk])).content.decode()
    assert 'id="issue-now"' not in page
    admin_client.post(reverse("web:contract-action", args=[later.pk, "issue-now"]))
    assert not Invoice.objects.filter(contract=later).exists()


def test_the_new_contract_form_suggests_the_next_number_and_today(admin_client, world, now):
    f.contract(world.company, issuer=world.user)  # numbered C-<n> by the factory
    from recurent.contracts.models import Contract

    last = Contract.objects.get().number
    page = admin_client.get(reverse("web:contract-add")).content.decode()
    expected = suggest_number(Contract.objects.filter(company=world.company))
    assert expected != last and re.search(rf'name="number"[^>]*value="{expected}"', page)
    assert re.search(r'name="signed_on"[^>]*value="2026-03-10"', page)


def test_suggest_number_keeps_the_width_and_skips_taken_numbers(world):
    from recurent.contracts.models import Contract

    assert suggest_number(Contract.objects.none()) == "CTR-0001"
    f.contract(world.company, issuer=world.user)
    c = Contract.objects.get()
    Contract.objects.filter(pk=c.pk).update(number="CTR-0041")
    assert suggest_number(Contract.objects.all()) == "CTR-0042"


def test_the_form_previews_the_next_invoices_from_the_engines_schedule(admin_client, world):
    url = reverse("web:contract-schedule-preview")
    r = admin_client.get(url, {"first_issue_at": "2026-01-31T09:00", "cycle": "monthly"})
    periods = r.json()["periods"]
    assert len(periods) == 6
    # Month ends clamp without drifting (31 Jan -> 28 Feb -> 31 Mar), as the engine decides.
    assert [p["issue_at"][:10] for p in periods[:3]] == ["31.01.2026", "28.02.2026", "31.03.2026"]
    assert admin_client.get(url, {"first_issue_at": "", "cycle": "monthly"}).json() == {
        "periods": []
    }
    page = admin_client.get(reverse("web:contract-add")).content.decode()
    assert 'id="next-invoices"' in page and "Următoarele facturi" in page
