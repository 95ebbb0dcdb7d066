"""The series lock is taken after drafting: drafts are re-priced only when the issue date
moved between the instant read before the lock and the one read under it."""

from datetime import date
from decimal import Decimal

from django.db import connection

from recurent.common import clock
from recurent.invoices import services
from recurent.invoices.models import Invoice, InvoiceLine
from tests import factories as f
from tests.factories import local


def at(*a):
    """Bucharest wall time to the second."""
    return local(*a[:5]).replace(second=a[5])


def _clock_that_jumps_under_the_series_lock(monkeypatch, before, after):
    """clock.now() gives ``before`` until the engine loads the series rows to lock them
    (the SELECT that reads their counters), ``after`` from then on."""
    now = {"t": before}
    monkeypatch.setattr(clock, "now", lambda: now["t"])

    def watch(execute, sql, params, many, context):
        if "companies_invoiceseries" in sql and "next_number" in sql and sql.startswith("SELECT"):
            now["t"] = after
        return execute(sql, params, many, context)

    return connection.execute_wrapper(watch)


def _count_drafts(monkeypatch):
    calls = []
    real = services.draft_invoice

    def counting(**kw):
        calls.append(kw["issue_date"])
        return real(**kw)

    monkeypatch.setattr(services, "draft_invoice", counting)
    return calls


def test_midnight_passing_under_the_lock_reprices_the_block_at_the_new_days_vat(world, monkeypatch):
    # Given a contract due just before the VAT change of 2025-08-01 (19 % -> 21 %)
    p = f.product(world.company, unit_price=Decimal("100.00"), vat_rate="standard")
    f.contract(world.company, issuer=world.user, lines=[(p, "1")], first=local(2025, 7, 31, 23))
    drafts = _count_drafts(monkeypatch)
    # When the clock passes midnight between the read before the lock and the one under it
    with _clock_that_jumps_under_the_series_lock(
        monkeypatch, at(2025, 7, 31, 23, 59, 59), at(2025, 8, 1, 0, 0, 1)
    ):
        assert services.issue_due(as_of=None).issued == 1
    # Then the invoice carries the date read under the lock, and that day's VAT rate
    inv = Invoice.objects.get()
    assert inv.issued_at == at(2025, 8, 1, 0, 0, 1) and inv.issue_date == date(2025, 8, 1)
    assert InvoiceLine.objects.get(invoice=inv).vat_rate == Decimal("21")
    assert inv.vat_total == Decimal("21.00")
    assert drafts == [date(2025, 7, 31), date(2025, 8, 1)]  # priced twice: the day moved


def test_a_later_instant_on_the_same_day_keeps_the_drafts(world, monkeypatch):
    for _ in range(3):
        f.contract(world.company, issuer=world.user, first=local(2026, 3, 1, 9))
    drafts = _count_drafts(monkeypatch)
    with _clock_that_jumps_under_the_series_lock(
        monkeypatch, local(2026, 3, 1, 10), at(2026, 3, 1, 10, 0, 5)
    ):
        assert services.issue_due(as_of=None).issued == 3
    assert set(Invoice.objects.values_list("issued_at", flat=True)) == {at(2026, 3, 1, 10, 0, 5)}
    assert len(drafts) <= 3 and set(drafts) == {date(2026, 3, 1)}  # never re-priced


def test_the_date_never_goes_backwards_when_the_series_is_ahead_of_this_clock(world, monkeypatch):
    # Given a series whose newest invoice is dated after this machine's clock (another
    # worker's clock runs ahead, past midnight)
    f.contract(world.company, issuer=world.user, first=local(2026, 3, 1, 9))
    world.series.__class__.objects.filter(pk=world.series.pk).update(
        last_issued_at=at(2026, 3, 2, 0, 0, 2)
    )
    drafts = _count_drafts(monkeypatch)
    with _clock_that_jumps_under_the_series_lock(
        monkeypatch, at(2026, 3, 1, 23, 59, 58), at(2026, 3, 1, 23, 59, 59)
    ):
        assert services.issue_due(as_of=None).issued == 1
    # Then the invoice takes the series' instant (and its date) instead of going backwards
    inv = Invoice.objects.get()
    assert inv.issued_at == at(2026, 3, 2, 0, 0, 2) and inv.issue_date == date(2026, 3, 2)
    assert drafts == [date(2026, 3, 2)]  # the read before the lock already saw the series' date
