"""Aging, client statement and invoiced vs collected, as CSV and XLSX."""

import io
from datetime import date
from decimal import Decimal as D

import pytest
from django.utils import translation
from openpyxl import load_workbook

from recurent.payments import reports
from recurent.payments.services import payment_record, payment_reverse
from tests.factories import local

from .helpers import billed


@pytest.fixture(autouse=True)
def _romanian():
    # Built outside a request: the reports speak the active language, and a page test run
    # before may have left another one active in this thread (LocaleMiddleware activates it
    # per request and does not reset it).
    with translation.override("ro"):
        yield


def test_aging_splits_outstanding_by_days_past_due(world):
    (a, a_invs), (b, b_invs) = billed(world, ["100", "200"], periods=4)  # Jan 31 .. Apr 30
    payment_record(company=world.company, client=a, date=date(2026, 5, 1), amount="121",
                   allocations=[(a_invs[0], "121")], as_of=local(2026, 5, 20), user=world.user)  # fmt: skip
    t = reports.aging(world.company.pk, local(2026, 5, 20))
    # Due dates Feb 15, Mar 15, Apr 15, May 15 -> 94, 66, 35, 5 days late on May 20.
    rows = {r[0]: r[1:] for r in t.rows}
    assert rows[a.name] == [D("0"), D("121.00"), D("121.00"), D("121.00"), D("0"), D("363.00")]
    assert rows[b.name] == [D("0"), D("242.00"), D("242.00"), D("242.00"), D("242.00"), D("968.00")]
    assert rows["TOTAL"][-1] == D("1331.00")
    csv = reports.to_csv(t).decode("utf-8-sig")
    assert (
        csv.splitlines()[0] == "client;curent;1-30 zile;31-60 zile;61-90 zile;peste 90 zile;total"
    )
    assert f"{b.name};0.00;242.00;242.00;242.00;242.00;968.00" in csv
    wb = load_workbook(io.BytesIO(reports.to_xlsx(t)))
    ws = wb.active
    assert ws["A2"].value == "client" and ws.cell(row=ws.max_row, column=7).value == 1331


def test_client_statement_has_a_running_balance(world):
    ((a, [jan, feb]),) = billed(world, ["100"], periods=2)
    p = payment_record(company=world.company, client=a, date=date(2026, 2, 10), amount="150",
                       allocations=[(jan, "121")], as_of=local(2026, 2, 10), user=world.user)  # fmt: skip
    payment_reverse(payment=p, reason="cont greșit", as_of=local(2026, 3, 2, 12), user=world.user)
    t = reports.client_statement(a, date(2026, 2, 1), date(2026, 3, 31))
    assert [r[1] for r in t.rows] == [
        "sold inițial",
        "încasare transfer bancar",
        "factură REC-000002",
        "încasare anulată",
    ]
    assert [r[5] for r in t.rows] == [D("121.00"), D("-29.00"), D("92.00"), D("242.00")]
    wb = load_workbook(io.BytesIO(reports.to_xlsx(t)))
    assert wb.active.cell(row=wb.active.max_row, column=6).value == 242


def test_invoiced_vs_collected_report(world):
    ((a, [jan, feb]),) = billed(world, ["100"], periods=2)
    payment_record(company=world.company, client=a, date=date(2026, 2, 10), amount="100",
                   as_of=local(2026, 2, 10), user=world.user)  # fmt: skip
    t = reports.invoiced_vs_collected(world.company.pk, 2, local(2026, 2, 28, 12))
    assert t.rows == [
        ["2026-01", D("121.00"), D("0.00"), D("121.00")],
        ["2026-02", D("121.00"), D("100.00"), D("21.00")],
    ]
