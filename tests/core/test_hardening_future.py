"""A real billing run cannot be dated in the future (issue 14, item 1).

A typo in a year (2030 for 2026) would date invoices in the future and every later invoice of
the series after them, irreversibly. Every path that issues goes through the same check in
``recurent.invoices.services``: the CLI, the web billing run, the API (previews only) and the
worker (which bills as of now). The suite's settings allow time travel; these tests put the
production tolerance back.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from recurent.common import clock
from recurent.companies.models import InvoiceSeries
from recurent.invoices.models import BillingRun, Invoice
from recurent.invoices.services import issue_batch, issue_due
from tests import factories as f
from tests.factories import local
from tests.web.conftest import admin_client, login  # noqa: F401


@pytest.fixture(autouse=True)
def _production_tolerance(settings):
    settings.RECURENT = {**settings.RECURENT, "CLOCK_TOLERANCE_SECONDS": 300}


@pytest.fixture(autouse=True)
def _billing_inline(monkeypatch):
    monkeypatch.setattr("recurent.web.views.billing.RUN_INLINE", True)


def _due_contract(world):
    return f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))


def test_a_real_run_in_the_future_is_refused_and_writes_nothing(world):
    _due_contract(world)
    with pytest.raises(ValidationError) as e:
        issue_due(as_of=local(2030, 1, 1))
    assert e.value.error_dict["as_of"][0].code == "future"
    with pytest.raises(ValidationError):
        issue_batch(as_of=local(2030, 1, 1))
    assert not Invoice.objects.exists() and not BillingRun.objects.exists()
    assert InvoiceSeries.objects.get(pk=world.series.pk).last_issued_at is None


def test_within_the_clock_tolerance_a_run_goes_ahead(world):
    _due_contract(world)
    assert issue_due(as_of=clock.now() + timedelta(minutes=4)).issued > 0


def test_a_preview_may_look_at_any_instant(world):
    _due_contract(world)
    assert len(issue_due(as_of=local(2030, 1, 1), dry_run=True).previews) > 40
    assert not Invoice.objects.exists()


def test_cli_refuses_a_future_run_and_says_to_preview(world, capsys):
    _due_contract(world)
    with pytest.raises(CommandError, match="--as-of: .*2030-01-01 00:00.*--dry-run"):
        call_command("bill", "--as-of", "2030-01-01T00:00")
    assert not Invoice.objects.exists() and not BillingRun.objects.exists()
    call_command("bill", "--as-of", "2030-01-01T00:00", "--dry-run")
    assert "would issue" in capsys.readouterr().out


def test_web_run_in_the_future_is_refused_in_romanian(admin_client, world):  # noqa: F811
    _due_contract(world)
    r = admin_client.post(reverse("web:billing-run"), {"as_of": "2030-01-01T00:00"})
    assert r.status_code == 200  # the form again, not a job
    html = r.content.decode()
    assert "nu poate fi datată în viitor" in html
    assert not Invoice.objects.exists() and not BillingRun.objects.exists()
    r = admin_client.post(
        reverse("web:billing-run"), {"as_of": "2030-01-01T00:00", "dry_run": "on"}, follow=True
    )
    assert "REC-000001" in r.content.decode() and not Invoice.objects.exists()


def test_a_storno_cannot_be_dated_in_the_future_either(world):
    from recurent.invoices.storno import invoice_storno

    _due_contract(world)
    issue_due(as_of=local(2026, 2, 1, 10))
    invoice = Invoice.objects.order_by("number").first()
    with pytest.raises(ValidationError) as e:
        invoice_storno(invoice=invoice, lines=None, as_of=local(2030, 1, 1), user=world.user)
    assert e.value.error_dict["as_of"][0].code == "future"
    assert Invoice.objects.filter(kind="credit_note").count() == 0
