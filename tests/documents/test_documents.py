"""Stored documents: rendered after issue, checked before they are stored, downloaded by members only."""

from __future__ import annotations

import io
import subprocess
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from recurent.clients.models import Client
from recurent.documents import api
from recurent.documents.models import DocumentSettings, InvoiceDocument
from recurent.documents.services import DocumentInvalid, document_bytes, render_pending
from recurent.documents.validation import check_xml
from recurent.invoices.models import InvoiceStatus
from recurent.invoices.storno import invoice_storno
from recurent.worker import tasks
from tests import factories as f
from tests.documents import scenarios
from tests.factories import local

# Service errors read in English here, as the API and the command line show them.
pytestmark = pytest.mark.usefixtures("english")


def pdf_text(data: bytes) -> str:
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode("utf-8")
    return " ".join(text.split())


def test_the_worker_renders_every_issued_invoice_once_and_stores_it(world):
    assert ("documents", render_pending) in tasks.TASKS
    a, b = scenarios.ron_multi_rate(world), scenarios.eur_invoice(world)
    assert render_pending(limit=10) == 2
    assert render_pending(limit=10) == 0  # nothing left: stored, never re-rendered
    for inv in (a, b):
        names = [n for n, _, _ in api.attachments(inv.pk)]
        assert names == [f"{inv.full_number}.pdf", f"{inv.full_number}.xml"]
        xml = api.document(inv.pk, "xml")
        assert xml.valid and check_xml(bytes(xml.content)) == []
    before = InvoiceDocument.objects.get(invoice=a, kind="pdf")
    assert document_bytes(a, "pdf") == bytes(before.content)


def test_an_xml_failing_the_check_is_recorded_with_its_findings_and_never_handed_out(
    world, monkeypatch
):
    # The engine holds contracts whose data cannot make a valid XML (documents' party check),
    # so a failing XML means a bug: simulate one rule firing.
    from recurent.documents import services
    from recurent.documents.validation import Finding

    monkeypatch.setattr(services, "check_xml", lambda xml: [Finding("BR-RO-111", "county not ISO")])
    inv = scenarios.ron_multi_rate(world)
    assert render_pending(limit=5) == 1
    doc = InvoiceDocument.objects.get(invoice=inv, kind="xml")
    assert not doc.valid and doc.findings == [{"rule": "BR-RO-111", "message": "county not ISO"}]
    assert api.document(inv.pk, "xml") is None
    assert [n for n, _, _ in api.attachments(inv.pk)] == [f"{inv.full_number}.pdf"]
    with pytest.raises(DocumentInvalid, match="BR-RO-111"):
        document_bytes(inv, "xml")


def test_a_client_that_cannot_make_a_valid_xml_is_held_before_a_number_is_spent(world):
    from recurent.contracts.models import HoldKind
    from recurent.invoices.services import issue_due

    buyer = f.client(world.company)
    Client.objects.filter(pk=buyer.pk).update(county="", street="")  # e.g. an old import
    k = f.contract(world.company, issuer=world.user, client_=buyer)
    assert issue_due(as_of=local(2026, 1, 31, 10)).issued == 0
    k.refresh_from_db()
    assert k.hold_kind == HoldKind.DATA and "county" in k.hold_reason and "street" in k.hold_reason


def test_the_pdf_carries_the_legal_mentions_with_romanian_diacritics(world):
    inv = scenarios.vat_on_collection(world)
    text = pdf_text(document_bytes(inv, "pdf"))
    for needle in [
        "FACTURĂ", "Seria și nr.", inv.full_number, "31.01.2026", "Scadența", "15.02.2026",
        "RO18547290", "J12/1234/2015", "Capital social", inv.buyer["tax_id"], "Bd. Eroilor 1",
        "Cluj-Napoca", "Preț unitar", "Bază impozabilă", "21%", "TVA la încasare", "Total de plată",
        "121,00 RON", "RO49 AAAA 1B31 0075 9384 0000", "Banca Transilvania", "ÎNTOCMIT DE",
        inv.contract_number, "31.01.2026 – 27.02.2026", "art. 319",
    ]:  # fmt: skip
        assert needle in text, needle
    # Comma-below ș/ț (U+0219/U+021B), never the cedilla forms.
    assert "\u0219" in text and "\u021b" in text and "\u015f" not in text and "\u0163" not in text


def test_eur_and_storno_pdfs_state_vat_in_lei_and_the_original_invoice(world):
    inv = scenarios.eur_invoice(world)
    text = pdf_text(document_bytes(inv, "pdf"))
    assert "CURS BNR" in text and "5,0975" in text and "TVA în lei" in text
    assert f"{inv.vat_total_ron:.2f}".replace(".", ",") in text
    cn = invoice_storno(invoice=inv, lines=None, as_of=local(2026, 2, 2), user=world.user)
    text = pdf_text(document_bytes(cn, "pdf"))
    assert (
        "FACTURĂ STORNO" in text and f"Stornare a facturii {inv.full_number} din 31.01.2026" in text
    )
    assert "Total de restituit" in text and "-606,21 EUR" in text


def test_the_layout_follows_the_company_settings_without_code(world):
    DocumentSettings.objects.create(
        company=world.company,
        accent_color="#8A1538",
        footer_text="Mulțumim! Thank you!",
        bilingual=False,
    )
    inv = scenarios.ron_multi_rate(world)
    text = pdf_text(document_bytes(inv, "pdf"))
    assert "Mulțumim! Thank you!" in text and "Issue date" not in text


def test_downloads_need_login_and_membership_of_the_invoice_company(world, client):
    inv = scenarios.ron_multi_rate(world)
    url = reverse("documents:invoice-pdf", args=[inv.pk])
    assert client.get(url).status_code == 302  # to the login page
    outsider = f.user()
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.get(reverse("documents:invoice-xml", args=[inv.pk])).status_code == 404
    client.force_login(world.user)
    r = client.get(url)
    assert (
        r.status_code == 200
        and r["Content-Type"] == "application/pdf"
        and r.content.startswith(b"%PDF")
    )
    r = client.get(reverse("documents:invoice-xml", args=[inv.pk]))
    assert r.status_code == 200 and b"<cbc:ID>" + inv.full_number.encode() in r.content
    assert 'attachment; filename="REC-000001.xml"' == r["Content-Disposition"]


def test_cli_storno_of_chosen_lines_and_documents_render(world):
    inv = scenarios.ron_multi_rate(world)
    out = io.StringIO()
    call_command(
        "storno",
        inv.full_number,
        "--line",
        "1:2",
        "--as-of",
        "2026-02-02T10:00",
        "--user",
        world.user.username,
        stdout=out,
    )
    assert "REC-000002: credit note of -80.67 RON" in out.getvalue()
    inv.refresh_from_db()
    assert inv.status == InvoiceStatus.PARTIALLY_CREDITED
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="exceeds what is left"):
        call_command(
            "storno",
            inv.full_number,
            "--line",
            "1:2",
            "--as-of",
            "2026-02-02T10:00",
            "--user",
            world.user.username,
        )
    out = io.StringIO()
    call_command("documents", "render", stdout=out)
    assert "2 invoice(s) rendered, 0 with problems" in out.getvalue()
    assert InvoiceDocument.objects.filter(valid=True).count() == 4


def test_annexes_are_checked_when_added_and_travel_with_the_invoice(world, tmp_path):
    from django.core.exceptions import ValidationError

    from recurent.documents.services import annex_add

    c = world.company
    k = f.contract(c, issuer=world.user)
    with pytest.raises(ValidationError, match="not accepted"):
        annex_add(contract=k, filename="contract.docx", content=b"PK\x03\x04")
    with pytest.raises(ValidationError, match="not a PDF"):
        annex_add(contract=k, filename="contract.pdf", content=b"hello")
    with pytest.raises(ValidationError, match="7 MB"):
        annex_add(contract=k, filename="big.csv", content=b"a" * (7 * 1024 * 1024 + 1))
    annex_add(
        contract=k,
        filename="contract-semnat.pdf",
        content=b"%PDF-1.4 semnat",
        description="Contract semnat",
    )
    annex_add(
        contract=k,
        filename="consum.csv",
        content=b"zi;kWh\n1;3\n",
        description="Raport consum",
    )
    from recurent.invoices.services import issue_due

    issue_due(as_of=local(2026, 1, 31, 10))
    inv = k.invoices.get()
    xml = document_bytes(inv, "xml")
    assert xml.count(b"<cac:AdditionalDocumentReference>") == 2 and b'mimeCode="text/csv"' in xml
    assert "Contract semnat" in pdf_text(document_bytes(inv, "pdf"))
    assert [n for n, _, _ in api.attachments(inv.pk)] == [
        f"{inv.full_number}.pdf",
        f"{inv.full_number}.xml",
        "contract-semnat.pdf",
        "consum.csv",
    ]
    path = tmp_path / "with-annexes.xml"
    path.write_bytes(xml)
    from tests.documents.anaf import anaf_check

    [result] = anaf_check([path])
    assert result["valid"], result
    assert Decimal(inv.gross_total) > 0
