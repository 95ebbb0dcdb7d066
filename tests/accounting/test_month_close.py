"""The month-close package: every part present, the manifest true to the bytes, the summary
saying what the accountant needs; accountants download it, viewers do not."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tempfile
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from recurent.accounting.closing import month_close_package, summarize
from recurent.accounting.models import AccountingSettings
from recurent.accounting.tasks import month_close_notify
from recurent.companies.api_tokens import api_token_create
from recurent.companies.models import Role
from recurent.companies.services import membership_grant
from recurent.engine.workdays import add_working_days, public_holidays
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from recurent.mail.models import OutboxMessage
from recurent.payments.services import payment_record
from tests import factories as f
from tests.factories import local

D = Decimal
NOW = local(2026, 3, 10, 12)


@pytest.fixture
def january(world):
    """Two clients billed on 31 January 2026 (REC 1 and 2), one of them paid."""
    made = []
    for price in ("100.00", "250.00"):
        p = f.product(world.company, unit_price=D(price))
        made.append(f.contract(world.company, issuer=world.user, lines=[(p, "1")]))
    issue_due(as_of=local(2026, 1, 31, 10), company_id=world.company.pk)
    invs = list(Invoice.objects.order_by("number"))
    payment_record(
        company=world.company, client=invs[0].client, date=date(2026, 1, 31),
        amount=invs[0].gross_total, allocations=[(invs[0], invs[0].gross_total)], as_of=NOW,
        user=world.user,
    )  # fmt: skip
    return invs


def test_working_days_skip_weekends_and_romanian_public_holidays():
    assert date(2026, 4, 10) in public_holidays(2026)  # Orthodox Good Friday
    assert date(2026, 4, 13) in public_holidays(2026)  # Easter Monday
    assert add_working_days(date(2026, 12, 22), 5) == date(2026, 12, 30)  # 25-27 Dec skipped
    assert add_working_days(date(2026, 1, 30), 1) == date(2026, 2, 2)  # Friday -> Monday


def test_package_has_every_part_and_a_manifest_true_to_the_bytes(world, january):
    pkg = month_close_package(company=world.company, month="2026-01", as_of=NOW, user=world.user)
    z = zipfile.ZipFile(io.BytesIO(pkg.content))
    names = set(z.namelist())
    for inv in january:
        assert f"facturi/REC/{inv.full_number}.pdf" in names
        assert f"facturi/REC/{inv.full_number}.xml" in names
    assert {
        "sumar.pdf", "manifest.json", "incasari/incasari_2026-01.csv", "efactura_2026-01.csv",
        "lipsa.txt", "contabilitate/saga_2026-01-01_2026-01-31.zip",
        "contabilitate/winmentor_2026-01-01_2026-01-31.zip",
        "contabilitate/jurnal_2026-01-01_2026-01-31.csv",
    } <= names  # fmt: skip
    manifest = json.loads(z.read("manifest.json"))
    listed = {e["name"]: e for e in manifest["files"]}
    assert set(listed) == names - {"manifest.json"}
    for name, entry in listed.items():
        data = z.read(name)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data)
    # Not sent to ANAF (no SPV connection in this test): each invoice says why it has no answer.
    missing = z.read("lipsa.txt").decode()
    assert all(inv.full_number in missing for inv in january)
    # The same month again gives the same files (nothing was marked or changed).
    again = zipfile.ZipFile(
        io.BytesIO(month_close_package(company=world.company, month="2026-01", as_of=NOW).content)
    )
    assert z.read("contabilitate/jurnal_2026-01-01_2026-01-31.csv") == again.read(
        "contabilitate/jurnal_2026-01-01_2026-01-31.csv"
    )


def test_summary_proves_numbering_and_gives_the_d300_figures(world, january):
    s = summarize(world.company, "2026-01", NOW)
    [run] = s.series
    assert (min(run.numbers), max(run.numbers), len(run.numbers), run.gaps) == (1, 2, 2, [])
    [(label, base, vat)] = s.vat
    assert "21%" in label
    assert base == sum((i.net_total for i in january), D(0))
    assert vat == sum((i.vat_total for i in january), D(0))
    # e-Factura deadline: 5 working days after 31 Jan 2026 (a Saturday) is Fri 6 Feb.
    assert {dl for *_, dl in s.efactura_pending} == {date(2026, 2, 6)}
    assert s.payments and s.payments[0][1] == 1
    # Due on 15 February: not overdue at the end of January, overdue at the end of February
    # (and still unpaid when the package is built, on 10 March).
    assert s.overdue == []
    feb = summarize(world.company, "2026-02", NOW)
    assert [(name, n) for name, _v, n, _c in feb.overdue] == [(january[1].buyer_name, 1)]
    pdf = month_close_package(company=world.company, month="2026-01", as_of=NOW).content
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.zip"
        path.write_bytes(pdf)
        (Path(tmp) / "s.pdf").write_bytes(zipfile.ZipFile(path).read("sumar.pdf"))
        text = subprocess.run(
            ["pdftotext", "-layout", str(Path(tmp) / "s.pdf"), "-"], capture_output=True,
            text=True, check=True,
        ).stdout  # fmt: skip
        pages = subprocess.run(
            ["pdfinfo", str(Path(tmp) / "s.pdf")], capture_output=True, text=True, check=True
        ).stdout
    assert "Pages:           1" in pages
    assert "fără goluri" in text and "Închiderea lunii 2026-01" in text
    assert "06.02.2026" in text


def test_a_gap_in_the_month_is_named(world, january):
    s = summarize(world.company, "2026-01", NOW)
    s.series[0].numbers.remove(2)
    s.series[0].numbers.append(4)
    assert s.series[0].gaps == [2, 3]
    from recurent.accounting.closing import summary_payload

    assert summary_payload(s)["series"][0][-1] == "LIPSESC: 2, 3"


def test_accountant_downloads_from_the_web_and_a_viewer_cannot(world, january, client):
    client.force_login(world.user)
    r = client.get("/accounting/month-close/", {"month": "2026-01"})
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"
    r = client.post("/accounting/export/", {"format": "saga", "date_from": "2026-01-01",
                                           "date_to": "2026-01-31"})  # fmt: skip
    assert r.status_code == 200 and zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert client.get("/accounting/").status_code == 200
    viewer = f.user()
    membership_grant(user=viewer, company=world.company, role=Role.VIEWER)
    client.force_login(viewer)
    assert client.get("/accounting/month-close/", {"month": "2026-01"}).status_code == 403
    assert client.get("/accounting/").status_code == 403


def test_a_bad_month_is_a_message_not_an_error(world, client):
    client.force_login(world.user)
    r = client.get("/accounting/month-close/", {"month": "2026-13"}, follow=True)
    assert r.status_code == 200
    assert "2026-13" in r.content.decode()


def test_api_export_and_package_need_the_accountant_role(world, january, client):
    _, raw = api_token_create(user=world.user, company=world.company, name="acc", as_of=NOW)
    r = client.post(
        "/api/v1/accounting/exports",
        {"format": "csv", "date_from": "2026-01-01", "date_to": "2026-01-31"},
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}",
    )  # fmt: skip
    assert r.status_code == 200 and r["X-Invoice-Count"] == "2"
    r = client.get("/api/v1/accounting/month-close/2026-01", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    r = client.get("/api/v1/accounting/month-close/2026-1x", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert r.status_code in (400, 422)
    viewer = f.user()
    membership_grant(user=viewer, company=world.company, role=Role.VIEWER)
    _, vraw = api_token_create(user=viewer, company=world.company, name="v", as_of=NOW)
    r = client.get("/api/v1/accounting/month-close/2026-01", HTTP_AUTHORIZATION=f"Bearer {vraw}")
    assert r.status_code == 403


def test_cli_writes_the_files(world, january, tmp_path):
    out = tmp_path / "jan.zip"
    call_command("export", "month-close", "--month", "2026-01", "-o", str(out))
    assert zipfile.ZipFile(out).read("manifest.json")
    csv_out = tmp_path / "j.csv"
    call_command("export", "accounting", "--format", "csv", "--from", "2026-01-01",
                 "--to", "2026-01-31", "--only-new", "-o", str(csv_out))  # fmt: skip
    assert january[0].full_number in csv_out.read_text(encoding="utf-8-sig")


def test_accountant_is_told_once_a_month_on_the_company_day(world, january):
    AccountingSettings.objects.create(
        company=world.company, accountant_email="contabil@example.ro", package_day=3
    )
    before = datetime(2026, 2, 2, 9, tzinfo=ZoneInfo("Europe/Bucharest"))
    assert month_close_notify(as_of=before) == 0
    on_day = datetime(2026, 2, 3, 9, tzinfo=ZoneInfo("Europe/Bucharest"))
    assert month_close_notify(as_of=on_day) == 1
    assert month_close_notify(as_of=on_day) == 0
    [msg] = OutboxMessage.objects.all()
    assert "2026-01" in msg.subject and "contabil@example.ro" in str(msg.recipients)
    assert "/accounting/month-close/?month=2026-01" in msg.body_text
