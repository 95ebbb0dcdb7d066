"""Supplier invoices: ANAF's real ZIPs read into a list, a PDF view from the XML, the signed ZIP
kept, ANAF's error answers recognised, duplicates kept once."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from recurent.companies.models import Role
from recurent.companies.services import membership_grant
from recurent.efactura.models import IncomingInvoice
from recurent.efactura.services import incoming_sync
from recurent.efactura.supplier import (
    read_zip,
    supplier_invoice_import,
    supplier_invoice_pdf,
    supplier_invoice_read,
    supplier_invoices,
    supplier_invoices_fetch,
)
from tests import factories as f
from tests.factories import local

ANSWERS = Path(__file__).resolve().parents[2].parent / "shared" / "realworld" / "anaf-answers"
TOTAL_SECURITY = ANSWERS / "oca-l10n-ro_5004552043.zip"  # an invoice to ERPSYSTEMS (RO23685159)
ROMCHIM = ANSWERS / "oca-l10n-ro_invoice.zip"  # an invoice to Dedeman (RO2816464)
REFUSED = ANSWERS / "oca-l10n-ro_3828.zip"  # ANAF's error file: the upload was refused
T = local(2026, 2, 2, 10)


def pdf_text(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True)
    return out.stdout.decode()


def renamed(path: Path, index: str) -> bytes:
    """The same invoice as if uploaded again under another ANAF index."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            new = name.replace(name.split(".")[0].removeprefix("semnatura_"), index)
            dst.writestr(new, src.read(name))
    return out.getvalue()


@pytest.fixture
def erp(db):
    """The buyer of the Total Security invoice, as a Recurent company."""
    c, _, u = f.setup_company()
    from recurent.companies.services import company_update

    company_update(company=c, cui="RO23685159", legal_name="ERPSYSTEMS SOLUTIONS SRL")
    return type("Erp", (), {"company": c, "user": u})


def test_every_real_anaf_zip_is_read_as_what_it_is():
    kinds = {p.name: read_zip(p.read_bytes()).kind for p in sorted(ANSWERS.glob("*.zip"))}
    assert kinds == {
        "oca-l10n-ro_3828.zip": "errors",
        "oca-l10n-ro_5004552043.zip": "invoice",
        "oca-l10n-ro_invoice.zip": "invoice",
    }
    refused = read_zip(REFUSED.read_bytes())
    assert refused.upload_index == "3828" and refused.supplier_cif == "47024170"
    assert "CIF-ul vanzatorului nu figureaza" in refused.errors[0]


def test_a_real_supplier_invoice_becomes_a_usable_row_with_its_signed_zip_kept(erp):
    content = TOTAL_SECURITY.read_bytes()
    row, created = supplier_invoice_import(company=erp.company, content=content, as_of=T)
    assert created
    row = IncomingInvoice.objects.get(pk=row.pk)
    assert (row.supplier_name, row.supplier_cif) == ("TOTAL SECURITY SA", "8486152")
    assert (row.number, row.upload_index) == ("ETTS/2023 /000130", "5004552043")
    assert (row.issue_date.isoformat(), row.due_date.isoformat()) == ("2023-12-06", "2023-12-21")
    assert (row.net_total, row.vat_total, row.gross_total, row.currency) == (
        Decimal("3964.80"), Decimal("753.31"), Decimal("4718.11"), "RON",
    )  # fmt: skip
    assert row.vat_breakdown == [
        {"category": "S", "rate": "19.0", "base": "3964.80", "vat": "753.31"}
    ]
    [line] = row.lines
    assert (line["name"], line["quantity"], line["unit"], line["price"], line["net"]) == (
        "PAZA_NEINARMAT", "168.0", "HUR", "23.60", "3964.80",
    )  # fmt: skip
    assert bytes(row.zip) == content  # ANAF's signed original, byte for byte


def test_the_pdf_view_is_rendered_from_the_xml(erp):
    row, _ = supplier_invoice_import(
        company=erp.company, content=TOTAL_SECURITY.read_bytes(), as_of=T
    )
    pdf = supplier_invoice_pdf(incoming=row)
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    for expected in ("TOTAL SECURITY SA", "ERPSYSTEMS SOLUTIONS SRL", "ETTS/2023 /000130",
                     "PAZA_NEINARMAT", "4.718,11", "753,31", "5004552043"):  # fmt: skip
        assert expected in text, expected


def test_the_same_zip_twice_is_kept_once(erp):
    content = TOTAL_SECURITY.read_bytes()
    first, _ = supplier_invoice_import(company=erp.company, content=content, as_of=T)
    again, created = supplier_invoice_import(company=erp.company, content=content, as_of=T)
    assert not created and again.pk == first.pk
    # The same supplier's number uploaded again under another ANAF id: still one invoice.
    other, created = supplier_invoice_import(
        company=erp.company, content=renamed(TOTAL_SECURITY, "5009999999"), as_of=T
    )
    assert not created and other.pk == first.pk
    assert IncomingInvoice.objects.count() == 1


def test_an_anaf_error_answer_is_refused_with_anafs_reason(erp):
    with pytest.raises(ValidationError) as e:
        supplier_invoice_import(company=erp.company, content=REFUSED.read_bytes(), as_of=T)
    assert e.value.error_dict["zip"][0].code == "anaf_errors"
    assert "CIF-ul vanzatorului nu figureaza" in str(e.value)
    assert not IncomingInvoice.objects.exists()


def test_an_invoice_to_another_company_or_not_a_zip_is_refused(erp):
    with pytest.raises(ValidationError) as e:
        supplier_invoice_import(company=erp.company, content=ROMCHIM.read_bytes(), as_of=T)
    assert e.value.error_dict["zip"][0].code == "other_buyer" and "Dedeman" in str(e.value)
    with pytest.raises(ValidationError) as e:
        supplier_invoice_import(company=erp.company, content=b"not a zip", as_of=T)
    assert e.value.error_dict["zip"][0].code == "unreadable"
    assert not IncomingInvoice.objects.exists()


def _message(mid: str, index: str) -> dict:
    return {"data_creare": "202602011015", "cif": "18547290", "id_solicitare": index,
            "tip": "FACTURA PRIMITA", "id": mid,
            "detalii": f"Factura cu id_incarcare={index} emisa de cif_emitent=8486152 pentru cif_beneficiar=18547290"}  # fmt: skip


def test_spv_messages_are_downloaded_read_and_a_second_upload_is_a_duplicate(
    world, anaf, connected
):
    anaf.incoming += [
        _message("3001", "5004552043"), _message("3002", "5009999999"), _message("3003", "3828"),
    ]  # fmt: skip
    anaf.script(
        "descarcare",
        (200, "application/zip", TOTAL_SECURITY.read_bytes()),
        (200, "application/zip", renamed(TOTAL_SECURITY, "5009999999")),
        (200, "application/zip", REFUSED.read_bytes()),
    )
    assert incoming_sync(company_id=world.company.pk, as_of=T) == 3
    assert supplier_invoices_fetch(company_id=world.company.pk, as_of=T) == 3
    assert supplier_invoices_fetch(company_id=world.company.pk, as_of=T) == 0  # once each
    assert anaf.hits["descarcare"] == 3
    listed = list(supplier_invoices(company_id=world.company.pk))
    assert sorted((r.upload_index, r.kind) for r in listed) == [
        ("3828", "errors"), ("5004552043", "invoice"),
    ]  # fmt: skip
    dup = IncomingInvoice.objects.get(upload_index="5009999999")
    assert dup.duplicate_of.upload_index == "5004552043" and dup.zip  # kept, not listed
    errors = IncomingInvoice.objects.get(upload_index="3828")
    assert "CIF-ul vanzatorului nu figureaza" in errors.problem and not errors.number
    # Reading again changes nothing (the ZIP does not change).
    first = IncomingInvoice.objects.get(upload_index="5004552043")
    supplier_invoice_read(incoming=first, as_of=T)
    assert IncomingInvoice.objects.filter(duplicate_of__isnull=True).count() == 2


def test_the_list_detail_and_pdf_pages(client, erp):
    row, _ = supplier_invoice_import(
        company=erp.company, content=TOTAL_SECURITY.read_bytes(), as_of=T
    )
    viewer = f.user()
    membership_grant(user=viewer, company=erp.company, role=Role.VIEWER)
    client.force_login(viewer)
    page = client.get(reverse("efactura:incoming")).content.decode()
    assert "TOTAL SECURITY SA" in page and "ETTS/2023 /000130" in page and "4.718,11" in page
    detail = client.get(reverse("efactura:incoming-detail", args=[row.pk])).content.decode()
    assert "PAZA_NEINARMAT" in detail and "5004552043" in detail
    pdf = client.get(reverse("efactura:incoming-pdf", args=[row.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    # A viewer reads; adding a ZIP is an accountant's.
    refused = client.post(reverse("efactura:incoming"), {"zip": io.BytesIO(b"x")})
    assert refused.status_code == 403


def test_an_accountant_adds_a_zip_on_the_list_page(client, erp):
    client.force_login(erp.user)
    upload = io.BytesIO(TOTAL_SECURITY.read_bytes())
    upload.name = "5004552043.zip"
    resp = client.post(reverse("efactura:incoming"), {"zip": upload}, follow=True)
    assert resp.status_code == 200 and "PAZA_NEINARMAT" in resp.content.decode()
    bad = io.BytesIO(REFUSED.read_bytes())
    bad.name = "3828.zip"
    page = client.post(reverse("efactura:incoming"), {"zip": bad}).content.decode()
    assert "CIF-ul vanzatorului nu figureaza" in page
    assert IncomingInvoice.objects.count() == 1


def test_the_worker_downloads_listed_invoices_and_records_one_anaf_no_longer_has(
    world, anaf, connected
):
    from recurent.efactura.supplier import supplier_tick
    from recurent.worker.tasks import TASKS

    names = [n for n, _ in TASKS]
    assert names.index("efactura") < names.index("efactura-suppliers")
    anaf.incoming += [_message("3001", "5004552043"), _message("3009", "5000000001")]
    gone = {
        "eroare": "Pentru id=3009 nu exista inregistrata nici o factura",
        "titlu": "Descarcare mesaj",
    }
    anaf.script(
        "descarcare",
        (200, "application/zip", TOTAL_SECURITY.read_bytes()),
        (200, "application/json", json.dumps(gone).encode()),
    )
    incoming_sync(company_id=world.company.pk, as_of=T)
    assert supplier_tick(limit=10, as_of=T) == 2
    assert supplier_tick(limit=10, as_of=T) == 0  # nothing asked twice
    assert anaf.hits["descarcare"] == 2
    read = IncomingInvoice.objects.get(upload_index="5004552043")
    assert read.number == "ETTS/2023 /000130" and read.zip
    missing = IncomingInvoice.objects.get(upload_index="5000000001")
    assert missing.kind == "unreadable" and "nu exista" in missing.problem and missing.zip is None
