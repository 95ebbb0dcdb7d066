"""One-off invoices issued while a billing run issues into the same series: no gap, no reuse."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import OperationalError, connection

from recurent.invoices.models import Invoice
from recurent.invoices.oneoff import DraftLineSpec, invoice_create
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local


@pytest.mark.django_db(transaction=True)
def test_one_off_invoices_and_a_billing_run_racing_share_the_series_without_gaps():
    c, s, u = f.setup_company()
    for _ in range(6):
        f.contract(c, issuer=u, first=local(2026, 1, 31))
    clients = [f.client(c) for _ in range(3)]
    at = local(2026, 2, 2, 9)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def retrying(fn) -> None:  # type: ignore[no-untyped-def]
        for _ in range(1000):
            try:
                return fn()
            except OperationalError as e:
                # SQLite's in-memory test database has table locks that do not wait (the file
                # database of production waits): wait here the same way.
                assert "locked" in str(e)
                time.sleep(0.01)
        raise AssertionError("never got the lock")

    def one_offs(cl) -> None:  # type: ignore[no-untyped-def]
        try:
            barrier.wait()
            for _ in range(4):
                retrying(lambda: invoice_create(
                    company=c, client=cl, series=s, as_of=at, user=u,
                    lines=[DraftLineSpec(quantity=Decimal(1), name="Extra", unit_price=Decimal(10))],
                ))  # fmt: skip
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
        finally:
            connection.close()

    def run() -> None:
        try:
            barrier.wait()
            retrying(lambda: issue_due(as_of=at, batch_size=2))
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=one_offs, args=(cl,)) for cl in clients]
    threads.append(threading.Thread(target=run))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    numbers = sorted(Invoice.objects.filter(series=s).values_list("number", flat=True))
    assert numbers == list(range(1, 6 + 12 + 1))  # 6 contract + 12 one-off, consecutive
    assert Invoice.objects.filter(origin="manual").count() == 12
