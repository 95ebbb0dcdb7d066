"""The payment screens: record, allocate, reverse, statement upload and two-click matching,
mandates and collection file, report downloads; access by role and company."""

import io
from datetime import date
from pathlib import Path

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from recurent.companies.services import membership_grant
from recurent.payments import bank
from recurent.payments import selectors as sel
from recurent.payments.collection import creditor_settings_save
from recurent.payments.models import (
    CollectionRun,
    LineStatus,
    Mandate,
    Payment,
    StatementImport,
    StatementLine,
)
from recurent.payments.services import payment_record
from tests import factories as f
from tests.factories import IBAN_SELLER, local
from tests.payments.helpers import billed

SAMPLES = Path(__file__).parents[2] / "payments" / "samples"


@pytest.fixture
def web(world, client):
    client.force_login(world.user)
    return client


def in_english(c):
    """The user's own choice of English (the pages are Romanian by default)."""
    assert c.post(reverse("web:set-language"), {"language": "en"}).status_code == 302
    return c


def test_pages_render(web, world):
    billed(world, ["100"])
    for name in ["list", "record", "statements", "mandates", "collections", "reports"]:
        r = web.get(reverse(f"payments:{name}"))
        assert r.status_code == 200, name
        assert b"<h1>" in r.content


def test_record_a_payment_for_an_invoice_from_its_page(web, world):
    ((cl, [inv]),) = billed(world, ["100"])
    url = reverse("payments:record-for-invoice", args=[inv.pk])
    r = web.get(url)
    assert r.status_code == 200 and b"121,00" in r.content
    r = web.post(url, {"client": cl.pk, "date": "2026-02-03", "amount": "150.00", "currency": "RON",
                       "method": "bank_transfer", f"alloc_{inv.pk}": "121.00"})  # fmt: skip
    assert r.status_code == 302
    assert sel.payment_state(inv, date(2026, 2, 3)) == "paid"
    assert sel.client_credit(cl) == 29


def test_an_over_allocation_is_refused_with_the_reason(web, world):
    ((cl, [inv]),) = billed(world, ["100"])
    data = {"client": cl.pk, "date": "2026-02-03", "amount": "500", "currency": "RON",
            "method": "bank_transfer", f"alloc_{inv.pk}": "200"}  # fmt: skip
    r = web.post(reverse("payments:record"), data, follow=True)
    assert (
        f"Alocare: 200 depășește restul de plată de 121.00 RON al facturii {inv.full_number}"
        in (r.content.decode())
    )
    r = in_english(web).post(reverse("payments:record"), data, follow=True)
    assert f"Allocation: 200 is more than the 121.00 RON outstanding on {inv.full_number}" in (
        r.content.decode()
    )
    assert Payment.objects.count() == 0


def test_allocate_credit_and_reverse(web, world):
    ((cl, [inv]),) = billed(world, ["100"])
    p = payment_record(company=world.company, client=cl, date=date(2026, 2, 3), amount="121",
                       as_of=local(2026, 2, 3), user=world.user)  # fmt: skip
    r = web.post(reverse("payments:allocate", args=[p.pk]), {f"alloc_{inv.pk}": "121"})
    assert r.status_code == 302 and sel.outstanding(inv) == 0
    r = web.post(reverse("payments:reverse", args=[p.pk]), {"reason": "introdusă greșit"})
    p.refresh_from_db()
    assert p.reversed and p.reversed_reason == "introdusă greșit"


def test_upload_a_statement_and_match_a_line_in_two_clicks(web, world):
    made = billed(world, ["100", "200", "300"])
    r = web.post(
        reverse("payments:statements"),
        {"file": io.BytesIO((SAMPLES / "bt_camt053_001_02.xml").read_bytes())},
    )
    imp = StatementImport.objects.get()
    assert r["Location"] == reverse("payments:statement-import", args=[imp.pk])
    # The page follows the import: waiting (htmx polls), then the worker's report.
    page = web.get(r["Location"]).content.decode()
    assert 'hx-trigger="every 1s"' in page and 'data-state="queued"' in page
    assert StatementLine.objects.count() == 0
    assert bank.statements_task(limit=10) == 1
    status = web.get(
        reverse("payments:statement-import-status", args=[imp.pk]), HTTP_HX_REQUEST="true"
    )
    assert status.status_code == 286 and 'id="import-done"' in status.content.decode()
    line = StatementLine.objects.get(status=LineStatus.UNMATCHED, bank_reference="BT26034A0003")
    page = web.get(reverse("payments:statements")).content.decode()
    assert "avans" in page and made[2][1][0].full_number in page
    # Click 1: choose the invoice in the line's list; click 2: "Potrivește".
    r = web.post(reverse("payments:line-match", args=[line.pk]), {"invoice": made[2][1][0].pk})
    assert r.status_code == 302
    line.refresh_from_db()
    assert line.status == LineStatus.MATCHED


def test_a_malformed_upload_shows_line_and_reason(web, world):
    bad = (SAMPLES / "bt_mt940.sta").read_bytes().replace(b"C242,00", b"X242,00")
    r = web.post(reverse("payments:statements"), {"file": io.BytesIO(bad)}, follow=True)
    assert "Fișier: linia 8" in r.content.decode()
    r = in_english(web).post(reverse("payments:statements"), {"file": io.BytesIO(bad)}, follow=True)
    assert "File: line 8" in r.content.decode()


def test_mandate_and_collection_file_download(web, world):
    ((cl, [inv]),) = billed(world, ["100"])
    creditor_settings_save(company=world.company, creditor_id="RO98ZZZ018547290", bic="BTRLRO22",
                           iban=IBAN_SELLER, user=world.user)  # fmt: skip
    web.post(reverse("payments:mandates"), {"action": "create", "client": cl.pk, "mandate_id": "M-1",
             "signed_on": "2026-01-05", "debtor_iban": "RO16BTRLRONCRT0123456701", "debtor_name": "ALFA"})  # fmt: skip
    assert Mandate.objects.filter(mandate_id="M-1").exists()
    from unittest import mock

    with mock.patch("recurent.common.clock.now", return_value=local(2026, 2, 20)):
        web.post(reverse("payments:collections"), {"collection_date": "2026-03-02", "currency": "RON",
                 "invoice": [inv.pk], "schema": "pain.008.001.02"})  # fmt: skip
    run = CollectionRun.objects.get()
    r = web.get(reverse("payments:collection-file", args=[run.pk]))
    assert r.status_code == 200 and b"<MndtId>M-1</MndtId>" in r.content


def test_report_downloads(web, world):
    ((cl, [inv]),) = billed(world, ["100"])
    for kind, extra in [
        ("aging", ""),
        ("monthly", "?months=3"),
        ("statement", f"?client={cl.pk}&from=2026-01-01&to=2026-12-31"),
    ]:
        r = web.get(reverse("payments:report", args=[kind, "csv"]) + extra)
        assert r.status_code == 200 and r["Content-Type"].startswith("text/csv"), kind
        r = web.get(reverse("payments:report", args=[kind, "xlsx"]) + extra)
        assert r.status_code == 200
        load_workbook(io.BytesIO(r.content))


def test_a_viewer_cannot_record_and_another_company_is_invisible(client, world):
    ((cl, [inv]),) = billed(world, ["100"])
    viewer = f.user()
    membership_grant(user=viewer, company=world.company, role="viewer")
    client.force_login(viewer)
    assert client.get(reverse("payments:list")).status_code == 200
    r = client.post(
        reverse("payments:record"), {"client": cl.pk, "amount": "1", "date": "2026-02-03"}
    )
    assert r.status_code == 403
    other_company = f.company(legal_name="Alta SRL")
    stranger = f.user()
    membership_grant(user=stranger, company=other_company, role="admin")
    p = payment_record(company=world.company, client=cl, date=date(2026, 2, 3), amount="1",
                       as_of=local(2026, 2, 3), user=world.user)  # fmt: skip
    client.force_login(stranger)
    assert client.get(reverse("payments:allocate", args=[p.pk])).status_code == 404
    assert client.get(reverse("payments:record-for-invoice", args=[inv.pk])).status_code == 404


def test_the_pages_speak_romanian_by_default_and_english_on_request(web, world):
    ((cl, [inv]),) = billed(world, ["100"])
    url = reverse("payments:record-for-invoice", args=[inv.pk])
    data = {"client": cl.pk, "date": "2026-02-03", "amount": "121.00", "currency": "RON",
            "method": "bank_transfer", f"alloc_{inv.pk}": "121.00"}  # fmt: skip
    pages = {
        reverse("payments:list"): (["Încasări", "Înregistrează o încasare"], ["Payments", "Record a payment"]),
        reverse("payments:statements"): (["Extrase bancare", "De potrivit manual"], ["Bank statements", "To match by hand"]),
        reverse("payments:mandates"): (["Mandate de debitare directă", "Mandat nou"], ["Direct-debit mandates", "New mandate"]),
        reverse("payments:collections"): (["Debitare directă", "Data debitării"], ["Direct debit", "Collection date"]),
        reverse("payments:reports"): (["Rapoarte de încasări", "Fișa clientului"], ["Payment reports", "Client statement"]),
        url: (["Alocare pe facturi", "Rest de plată"], ["Allocation to invoices", "Left to pay"]),
    }  # fmt: skip
    for page, (ro, _en) in pages.items():
        html = web.get(page).content.decode()
        assert all(t in html for t in ro), (page, ro)
    r = web.post(url, data, follow=True)
    assert "Încasare înregistrată: 121.00 RON." in r.content.decode()
    in_english(web)
    for page, (_ro, en) in pages.items():
        html = web.get(page).content.decode()
        assert all(t in html for t in en), (page, en)
    p = Payment.objects.get()
    r = web.post(reverse("payments:reverse", args=[p.pk]), {"reason": "dublură"}, follow=True)
    assert "Payment reversed; the reason is kept." in r.content.decode()


def test_a_failed_import_says_why_and_a_viewer_cannot_upload(web, world, monkeypatch):
    imp = bank.statement_receive(company=world.company, filename="s.xml",
                                 content=(SAMPLES / "bt_camt053_001_02.xml").read_bytes(),
                                 as_of=local(2026, 2, 6, 9), user=world.user)  # fmt: skip

    def broken(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(bank, "_match", broken)
    bank.statements_task(limit=1)
    page = web.get(reverse("payments:statement-import", args=[imp.pk])).content.decode()
    assert 'id="import-failed"' in page and "disk full" in page
    assert "hx-trigger" not in page and StatementLine.objects.count() == 0
    viewer = f.user()
    membership_grant(user=viewer, company=world.company, role="viewer")
    web.force_login(viewer)
    r = web.post(reverse("payments:statements"), {"file": io.BytesIO(b"x")})
    assert r.status_code == 403
