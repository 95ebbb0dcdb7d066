"""Yearly indexation of a contract's prices (issue #19): the notice N days before, the new
prices from the first period on or after the day, once per contract and year.

Worked examples (by hand):
- fixed 5 %: 100.00 x 1.05 = 105.0000 a month; with 21 % VAT the invoice is 105 x 1.21 = 127.05
  (it was 100 x 1.21 = 121.00);
- CPI: the 2026 indexation uses INS's December 2025 vs December 2024 rate, 9.69 % (shipped):
  100 x 1.0969 = 109.6900;
- EUR re-peg: base rate 5.0000 (contract date), 5.2000 on the notice day: 5.2 / 5 = 1.04,
  100 x 1.04 = 104.0000.
"""

from datetime import date
from decimal import Decimal

from recurent.contracts.indexation import indexation_tick
from recurent.contracts.models import ContractChange, ContractIndexation
from recurent.contracts.services import contract_update
from recurent.invoices.models import Invoice
from recurent.invoices.services import contract_upcoming, issue_due
from recurent.mail.models import OutboxKind, OutboxMessage
from recurent.rates.models import ExchangeRate, InflationRate
from tests import factories as f
from tests.factories import local


def _indexed(world, **settings):
    p = f.product(world.company, unit_price=Decimal("100"), vat_rate="standard")
    # Signed 2026-01-01 (the factory's date): the anniversary is 1 January, the notice 30 days
    # before it is due on 2 December. Monthly in advance from 31 January.
    return f.contract(world.company, issuer=world.user, lines=[(p, "1")], **settings)


def _notices():
    return list(OutboxMessage.objects.filter(kind=OutboxKind.NOTICE).order_by("pk"))


def test_the_client_is_told_30_days_before_with_the_old_and_new_prices_once(world):
    c = _indexed(world, index_method="fixed", index_percent=Decimal("5"))
    assert indexation_tick(as_of=local(2026, 12, 1)) == 0  # 31 days before: not yet
    assert _notices() == []

    assert indexation_tick(as_of=local(2026, 12, 2)) == 1
    assert indexation_tick(as_of=local(2026, 12, 2)) == 0  # run twice: nothing more
    assert indexation_tick(as_of=local(2026, 12, 20)) == 0
    [notice] = _notices()
    assert notice.recipients == c.client.emails
    assert c.number in notice.subject and "01.01.2027" in notice.subject
    assert "100.0000 -> 105.0000 RON" in notice.body_text
    row = ContractIndexation.objects.get(contract=c)
    assert (row.year, row.due_on, row.effective_on) == (2027, date(2027, 1, 1), date(2027, 1, 1))
    assert row.notice_message_id == notice.pk and row.applied_at is None
    noticed = ContractChange.objects.get(contract=c, action="indexation_noticed")
    assert noticed.changes["prices"][0]["new"] == "105.0000"


def test_the_new_prices_start_with_the_first_period_on_or_after_the_day(world):
    c = _indexed(world, index_method="fixed", index_percent=Decimal("5"))
    indexation_tick(as_of=local(2026, 12, 2))
    issue_due(as_of=local(2026, 12, 31, 10))  # 12 invoices, the last for 31 Dec - 30 Jan
    indexation_tick(as_of=local(2027, 1, 1, 0, 30))
    # The next invoices (contract page) show the new amounts from 31 January 2027.
    up = contract_upcoming(contract=c, as_of=local(2027, 1, 1, 1), count=2)
    assert [u["total"] for u in up] == [Decimal("127.05"), Decimal("127.05")]
    assert up[0]["start"] == date(2027, 1, 31)

    issue_due(as_of=local(2027, 1, 31, 10))
    totals = list(Invoice.objects.filter(contract=c).order_by("issue_date")
                  .values_list("gross_total", flat=True))  # fmt: skip
    assert totals == [Decimal("121.00")] * 12 + [Decimal("127.05")]


def test_running_the_task_again_after_the_day_changes_nothing(world):
    c = _indexed(world, index_method="fixed", index_percent=Decimal("5"))
    indexation_tick(as_of=local(2026, 12, 2))
    assert indexation_tick(as_of=local(2027, 1, 1, 1)) == 1
    lines = list(c.lines.values_list("unit_price", "from_index", "until_index"))
    changes = ContractChange.objects.filter(contract=c).count()
    for when in (local(2027, 1, 1, 1), local(2027, 1, 15), local(2027, 6, 1)):
        assert indexation_tick(as_of=when) == 0
    assert list(c.lines.values_list("unit_price", "from_index", "until_index")) == lines
    assert ContractChange.objects.filter(contract=c).count() == changes
    assert len(_notices()) == 1
    indexed = ContractChange.objects.get(contract=c, action="indexed")
    assert indexed.changes["index_used"]["percent"] == "5.00"
    assert indexed.changes["prices"] == [
        {"position": "1", "product": c.lines.first().product.code, "description": "Abonament "
         + c.lines.first().product.code[1:], "quantity": "1.0000", "old": "100.0000",
         "new": "105.0000"}
    ]  # fmt: skip


def test_a_year_later_the_prices_rise_again_from_the_indexed_ones(world):
    c = _indexed(world, index_method="fixed", index_percent=Decimal("5"))
    for when in (
        local(2026, 12, 2),
        local(2027, 1, 1, 1),
        local(2027, 12, 2),
        local(2028, 1, 1, 1),
    ):
        indexation_tick(as_of=when)
    # 105.0000 x 1.05 = 110.2500
    assert [r.year for r in ContractIndexation.objects.filter(contract=c)] == [2028, 2027]
    assert c.lines.get(until_index__isnull=True).unit_price == Decimal("110.2500")
    assert "105.0000 -> 110.2500 RON" in _notices()[1].body_text


def test_a_cpi_contract_uses_the_shipped_inflation_rate_of_the_year_before(world):
    c = _indexed(world, index_method="cpi", first=local(2025, 3, 31))
    c = contract_update(contract=c, user=world.user, signed_on=date(2025, 3, 15))
    # Indexation day 15 March 2026, notice on 13 February (30 days before).
    assert indexation_tick(as_of=local(2026, 2, 12)) == 0
    assert indexation_tick(as_of=local(2026, 2, 13)) == 1
    row = ContractIndexation.objects.get(contract=c)
    assert row.index_used["cpi_year"] == 2025 and row.index_used["percent"] == "9.69"
    assert row.prices[0]["new"] == "109.6900"
    indexation_tick(as_of=local(2026, 3, 15, 1))
    new = c.lines.get(until_index__isnull=True)
    # Periods start on the 31st (month-end clamped); the first on or after 15 March 2026 is
    # 31 March 2026, period 12 (31 March 2025 is period 0).
    assert (new.unit_price, new.from_index) == (Decimal("109.6900"), 12)


def test_a_cpi_figure_not_stored_yet_holds_the_notice_and_moves_the_day(world):
    c = _indexed(world, index_method="cpi")
    # The 1 January 2027 indexation needs the 2026 figure, published in January 2027.
    assert indexation_tick(as_of=local(2026, 12, 2)) == 0
    InflationRate.objects.create(company=world.company, year=2026, percent=Decimal("4.50"))
    assert indexation_tick(as_of=local(2027, 1, 14)) == 1
    row = ContractIndexation.objects.get(contract=c)
    # Notice on 14 January: the client still gets its 30 days, so the prices change on
    # 13 February; 100 x 1.045 = 104.5000.
    assert row.effective_on == date(2027, 2, 13)
    assert row.prices[0]["new"] == "104.5000"
    assert indexation_tick(as_of=local(2027, 2, 12)) == 0
    assert indexation_tick(as_of=local(2027, 2, 13, 1)) == 1


def test_a_company_figure_overrides_the_published_one_for_its_contracts_only(world):
    from recurent.contracts.indexation import cpi_table

    other = f.company()
    InflationRate.objects.create(company=world.company, year=2025, percent=Decimal("9.70"))
    assert cpi_table(world.company.pk)[2025] == Decimal("9.70")
    assert cpi_table(other.pk)[2025] == Decimal("9.69")
    assert cpi_table(other.pk)[2020] == Decimal("2.06")


def test_a_repeg_to_eur_follows_the_bnr_rate_since_the_contract_date(world):
    c = _indexed(world, index_method="eur")
    for day, rate in ((date(2025, 12, 31), "5.0000"), (date(2026, 12, 2), "5.2000")):
        ExchangeRate.objects.create(currency="EUR", date=day, rate=Decimal(rate),
                                    published_value=Decimal(rate))  # fmt: skip
    assert indexation_tick(as_of=local(2026, 12, 2)) == 1
    row = ContractIndexation.objects.get(contract=c)
    assert row.index_used["eur_base"] == "5.00000000"
    assert row.prices[0]["new"] == "104.0000"


def test_contracts_without_indexation_or_not_active_are_left_alone(world):
    _indexed(world)
    _indexed(world, index_method="fixed", index_percent=Decimal("5"), activate=False)
    assert indexation_tick(as_of=local(2026, 12, 2)) == 0
    assert ContractIndexation.objects.count() == 0


def test_recurent_schedule_prices_the_periods_after_the_day_at_the_new_prices(world, monkeypatch):
    import json
    from io import StringIO

    from django.core.management import call_command

    from recurent.common import clock

    c = _indexed(world, index_method="fixed", index_percent=Decimal("5"))
    issue_due(as_of=local(2026, 12, 2, 10))  # up to the period of 30 November
    indexation_tick(as_of=local(2026, 12, 2, 10))
    monkeypatch.setattr(clock, "now", lambda: local(2026, 12, 2, 11))
    out = StringIO()
    call_command("schedule", str(c.pk), "--count", "2", "--json", stdout=out)
    # 31 December at 100 (121.00), 31 January 2027 at 105 (127.05); nothing written.
    assert [r["total"] for r in json.loads(out.getvalue())] == ["121.00", "127.05"]
    assert c.lines.count() == 1


def test_the_worker_looks_for_due_notices_once_in_a_while_not_on_every_pass(world, monkeypatch):
    from recurent.common import clock
    from recurent.contracts import indexation

    indexation._last_scan.clear()
    monkeypatch.setattr(clock, "now", lambda: local(2026, 12, 2, 9))
    _indexed(world, index_method="fixed", index_percent=Decimal("5"))
    assert indexation_tick() == 1
    second = _indexed(world, index_method="fixed", index_percent=Decimal("5"))
    assert indexation_tick() == 0  # the same day, within SCAN_SECONDS of the last look
    monkeypatch.setattr(indexation, "SCAN_SECONDS", 0)
    assert indexation_tick() == 1
    assert ContractIndexation.objects.filter(contract=second).exists()
    indexation._last_scan.clear()


def test_an_indexation_set_after_its_day_is_not_applied_backwards(world, monkeypatch):
    from recurent.common import clock

    c = _indexed(world)  # no indexation yet; the 1 January 2027 anniversary passes
    monkeypatch.setattr(clock, "now", lambda: local(2027, 1, 10))
    contract_update(contract=c, user=world.user, index_method="fixed", index_percent=Decimal("5"))
    assert indexation_tick(as_of=local(2027, 1, 20)) == 0
    assert indexation_tick(as_of=local(2027, 12, 2)) == 1  # the next one, on time
    assert ContractIndexation.objects.get(contract=c).year == 2028


def test_a_notice_missed_while_the_worker_was_stopped_goes_out_late_with_its_full_notice(world):
    c = _indexed(world, index_method="fixed", index_percent=Decimal("5"))
    # Stopped from November to 5 January: the 1 January indexation is announced on 5 January
    # and takes effect 30 days later, on 4 February.
    assert indexation_tick(as_of=local(2027, 1, 5)) == 1
    assert ContractIndexation.objects.get(contract=c).effective_on == date(2027, 2, 4)
