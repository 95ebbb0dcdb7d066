"""Late-payment interest from the outside: `recurent interest invoice`, the API endpoint, the
worker task on its day, and the email queued with the invoice."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from recurent.common import clock
from recurent.companies.models import Company, Role
from recurent.companies.services import membership_grant
from recurent.mail.models import OutboxMessage
from recurent.payments import interest
from recurent.payments.models import InterestCharge
from recurent.payments.services import payment_record
from tests import factories as f
from tests.api.conftest import Api, token_for
from tests.factories import local
from tests.payments.helpers import issued

D = Decimal


@pytest.fixture
def late(world, monkeypatch):
    """The example of test_interest.py: 1,210.00 due 2026-02-15, 210.00 paid 2026-03-02;
    interest up to 31 March at 14.50 % = 18.73. The clock says 31 March, 10:00."""
    Company.objects.filter(pk=world.company.pk).update(interest_enabled=True)
    world.company.refresh_from_db()
    cl, [inv] = issued(world, price="1000.00")
    payment_record(company=world.company, client=cl, date=date(2026, 3, 2), amount="210.00",
                   allocations=[(inv, D("210.00"))], as_of=local(2026, 3, 2), user=world.user)  # fmt: skip
    monkeypatch.setattr(clock, "now", lambda: local(2026, 3, 31, 10))
    return cl, inv


@pytest.mark.django_db
def test_cli_dry_run_then_issue(world, late):
    world.user.is_superuser = True
    world.user.save(update_fields=["is_superuser"])
    out = io.StringIO()
    call_command("interest", "invoice", "--as-of", "2026-03-31", "--dry-run", stdout=out)
    assert "18.73 RON -> dry run" in out.getvalue() and not InterestCharge.objects.exists()
    out = io.StringIO()
    call_command("interest", "invoice", "--as-of", "2026-03-31", stdout=out)
    [charge] = InterestCharge.objects.all()
    assert charge.interest_invoice.full_number in out.getvalue()
    assert charge.amount == D("18.73") and charge.until == date(2026, 3, 31)
    with pytest.raises(CommandError, match="future"):
        call_command("interest", "invoice", "--as-of", "2026-04-02")


@pytest.mark.django_db
def test_api_dry_run_issue_and_viewer_refused(world, late):
    cl, inv = late
    api = Api(token_for(world.user, world.company)[1])
    r = api.post("/interest-invoices", {"dry_run": True})
    assert r.status_code == 200, r.content
    [dry] = r.json()
    assert (dry["total"], dry["invoice_id"], dry["items"][0]["number"]) == (
        "18.73", None, inv.full_number)  # fmt: skip
    assert [s["days"] for s in dry["items"][0]["statement"]["segments"]] == [15, 29]
    r = api.post("/interest-invoices", {"client_id": cl.pk, "email": True})
    [done] = r.json()
    assert done["number"] and done["items"][0]["since"] == "2026-02-16"
    # The email went into the outbox with the invoice.
    assert OutboxMessage.objects.filter(invoice_id=done["invoice_id"]).count() == 1
    assert api.post("/interest-invoices", {}).json() == []  # nothing left today
    assert api.post("/interest-invoices", {"client_id": 10**9}).status_code in (400, 422)
    viewer = f.user()
    membership_grant(user=viewer, company=world.company, role=Role.VIEWER)
    assert (
        Api(token_for(viewer, world.company)[1]).post("/interest-invoices", {}).status_code == 403
    )


@pytest.mark.django_db
def test_worker_task_only_on_its_day(world, late, monkeypatch):
    assert interest.interest_tick(limit=10) == 0  # 31 March is not the 1st
    monkeypatch.setattr(clock, "now", lambda: local(2026, 4, 1, 6))
    assert interest.interest_tick(limit=10) == 1
    # 16 Feb - 1 Apr: 6836.75 / 365 + 1 day * 1000 * 14.5 % / 365 = 6981.75 / 365 = 19.128 -> 19.13
    [charge] = InterestCharge.objects.all()
    assert charge.amount == D("19.13") and charge.until == date(2026, 4, 1)
    assert interest.interest_tick(limit=10) == 0  # a second pass of the day: nothing new
