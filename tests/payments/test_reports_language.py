"""Reports and payment states in the reader's language: Romanian by default, English after the
user's choice (the CSV/XLSX downloads are built in the request)."""

import io
from datetime import date

from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from recurent.payments.selectors import State
from recurent.payments.services import payment_record
from tests.factories import local

from .helpers import billed


def in_english(c):
    assert c.post(reverse("web:set-language"), {"language": "en"}).status_code == 302
    return c


def test_the_client_statement_downloads_in_the_users_language(client, world):
    ((cl, [inv]),) = billed(world, ["100"])
    payment_record(company=world.company, client=cl, date=date(2026, 2, 10), amount="121",
                   allocations=[(inv, "121")], as_of=local(2026, 2, 10), user=world.user)  # fmt: skip
    client.force_login(world.user)
    query = f"?client={cl.pk}&from=2026-01-01&to=2026-12-31"
    csv_url = reverse("payments:report", args=["statement", "csv"]) + query
    xlsx_url = reverse("payments:report", args=["statement", "xlsx"]) + query

    lines = client.get(csv_url).content.decode("utf-8-sig").splitlines()
    assert lines[0] == "data;document;detalii;debit;credit;sold"
    assert [line.split(";")[1] for line in lines[1:]] == [
        "sold inițial",
        f"factură {inv.full_number}",
        "încasare transfer bancar",
    ]
    assert lines[2].split(";")[2] == f"scadentă {inv.due_date.isoformat()}"
    ws = load_workbook(io.BytesIO(client.get(xlsx_url).content)).active
    assert ws.title == "Raport"
    assert ws["A1"].value == f"Fișa clientului {cl.name} 2026-01-01 – 2026-12-31 (RON)"

    in_english(client)
    lines = client.get(csv_url).content.decode("utf-8-sig").splitlines()
    assert lines[0] == "date;document;details;debit;credit;balance"
    assert [line.split(";")[1] for line in lines[1:]] == [
        "opening balance",
        f"invoice {inv.full_number}",
        "payment by bank transfer",
    ]
    assert lines[2].split(";")[2] == f"due {inv.due_date.isoformat()}"
    ws = load_workbook(io.BytesIO(client.get(xlsx_url).content)).active
    assert ws.title == "Report"
    assert ws["A1"].value == f"Client statement {cl.name} 2026-01-01 – 2026-12-31 (RON)"
    assert [c.value for c in ws[2]] == ["date", "document", "details", "debit", "credit", "balance"]


def test_the_aging_report_page_and_download_follow_the_user(client, world):
    billed(world, ["100"])
    client.force_login(world.user)
    url = reverse("payments:report", args=["aging", "csv"])
    assert client.get(url).content.decode("utf-8-sig").splitlines()[0] == (
        "client;curent;1-30 zile;31-60 zile;61-90 zile;peste 90 zile;total"
    )
    page = client.get(reverse("payments:reports")).content.decode()
    assert "Vechimea creanțelor la" in page and "peste 90 zile" in page
    in_english(client)
    assert client.get(url).content.decode("utf-8-sig").splitlines()[0] == (
        "client;current;1-30 days;31-60 days;61-90 days;over 90 days;total"
    )
    page = client.get(reverse("payments:reports")).content.decode()
    assert "Receivables aging on" in page and "over 90 days" in page
    assert "peste 90 zile" not in page


def test_payment_state_labels_are_translated_when_shown():
    ro = {
        "unpaid": "neîncasată", "partially_paid": "încasată parțial", "paid": "încasată",
        "overdue": "scadentă depășită", "cancelled": "stornată",
        "collection_requested": "debitare directă cerută", "credit_note": "notă de credit",
    }  # fmt: skip
    with translation.override("ro"):
        assert {k: str(v) for k, v in State.LABELS.items()} == ro  # unchanged
    with translation.override("en"):
        assert str(State.LABELS["overdue"]) == "overdue"
        assert str(State.LABELS["collection_requested"]) == "collection requested"
