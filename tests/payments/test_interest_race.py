"""Two interest runs at once (the button clicked twice, the worker's pass and the command): the
client row lock makes the second one see the first one's charges, so the days are invoiced once."""

from __future__ import annotations

import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from django.db import OperationalError, connection

from recurent.companies.models import Company
from recurent.invoices.models import Invoice
from recurent.payments.interest import interest_invoice
from recurent.payments.models import InterestCharge
from tests import factories as f
from tests.factories import local
from tests.payments.helpers import issued


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_invoice_the_days_once():
    # A transactional test runs on tables another transactional test may have flushed: the
    # BNR reference rates the migration ships are put back first.
    import importlib

    from django.apps import apps

    importlib.import_module("recurent.rates.migrations.0003_bnr_reference_rate").ship_published(
        apps, None
    )
    c, s, u = f.setup_company()
    Company.objects.filter(pk=c.pk).update(interest_enabled=True)
    world = type("World", (), {"company": Company.objects.get(pk=c.pk), "series": s, "user": u})
    issued(world, price="1000.00")  # 1,210.00 due 2026-02-15, unpaid
    barrier = threading.Barrier(3)
    results: list[list] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            for _ in range(1000):
                try:
                    results.append(interest_invoice(
                        company=world.company, as_of=local(2026, 3, 31, 10), user=u))  # fmt: skip
                    return
                except OperationalError as e:
                    # SQLite's in-memory test database does not wait for its table locks.
                    assert "locked" in str(e)
                    time.sleep(0.01)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # 16 Feb - 31 Mar = 44 days * 1210 * 14.5 % / 365 = 7719.80 / 365 = 21.150... -> 21.15
    assert sorted(len(r) for r in results) == [0, 0, 1]
    [charge] = InterestCharge.objects.all()
    assert (charge.since, charge.until, charge.amount) == (
        date(2026, 2, 16), date(2026, 3, 31), Decimal("21.15"))  # fmt: skip
    assert Invoice.objects.filter(origin="manual").count() == 1
