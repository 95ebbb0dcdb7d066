"""The documents screens: PDF settings with a live preview, and the annexes of a contract —
per role, per company, with refused files explained."""

from __future__ import annotations

import subprocess

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from recurent.companies.models import Role
from recurent.companies.services import membership_grant
from recurent.documents.models import Annex, DocumentSettings, InvoiceDocument
from recurent.documents.services import annex_add
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local


def pdf_text(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True)
    return " ".join(out.stdout.decode("utf-8").split())


def login(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def in_english(c: Client) -> Client:
    """The user's own choice of English (the pages are Romanian by default)."""
    assert c.post(reverse("web:set-language"), {"language": "en"}).status_code == 302
    return c


def as_role(world, role: str) -> Client:
    if role == Role.ADMIN:
        return login(world.user)
    u = f.user()
    membership_grant(user=u, company=world.company, role=role)
    return login(u)


@pytest.fixture
def contract(world):
    k = f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 1, 31, 10), company_id=world.company.pk)
    return k


@pytest.fixture
def annex(contract):
    return annex_add(contract=contract, filename="contract-semnat.pdf",
                     content=b"%PDF-1.4 semnat", description="Contract semnat")  # fmt: skip


@pytest.fixture
def other(db):
    c = f.company(legal_name="Alta Firma SRL", cui="RO14399840")
    f.series(c, code="ALT")
    u = f.user()
    membership_grant(user=u, company=c, role=Role.ADMIN)
    k = f.contract(c, issuer=u, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 1, 31, 10), company_id=c.pk)
    a = annex_add(contract=k, filename="secret.csv", content=b"a;b\n1;2\n")
    return type("Other", (), {"company": c, "contract": k, "annex": a})


def urls(contract, annex) -> dict[str, str]:
    return {
        "settings": reverse("documents:settings"),
        "preview": reverse("documents:settings-preview"),
        "annexes": reverse("documents:contract-annexes", args=[contract.pk]),
        "download": reverse("documents:annex-download", args=[annex.pk]),
    }


# The look of the PDF is a company setting (administrator); annexes are read by every member.
EXPECTED = {
    Role.VIEWER: {"settings": 403, "preview": 403},
    Role.ACCOUNTANT: {"settings": 403, "preview": 403},
    Role.ADMIN: {},
}


@pytest.mark.parametrize("role", [Role.VIEWER, Role.ACCOUNTANT, Role.ADMIN])
def test_every_page_renders_for_each_role(world, contract, annex, role):
    c = as_role(world, role)
    for name, url in urls(contract, annex).items():
        r = c.get(url)
        assert r.status_code == EXPECTED[role].get(name, 200), (name, r.status_code)
    page = c.get(urls(contract, annex)["annexes"]).content.decode()
    assert "contract-semnat.pdf" in page
    assert ('type="file"' in page) == (role != Role.VIEWER)  # the upload form is for writers


def test_the_invoice_downloads_keep_their_names(world, contract):
    inv = contract.invoices.get()
    c = as_role(world, Role.VIEWER)
    r = c.get(reverse("documents:invoice-pdf", args=[inv.pk]))
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert reverse("documents:invoice-xml", args=[inv.pk]) == f"/documents/invoices/{inv.pk}.xml"


def test_a_viewer_cannot_post_and_only_an_admin_changes_the_look(world, contract):
    upload = {"file": SimpleUploadedFile("r.csv", b"a;b\n", "text/csv")}
    url = reverse("documents:contract-annexes", args=[contract.pk])
    assert as_role(world, Role.VIEWER).post(url, upload).status_code == 403
    settings_url = reverse("documents:settings")
    data = {"accent_color": "#aa0000", "footer_text": "x", "bilingual": "False"}
    for role in (Role.VIEWER, Role.ACCOUNTANT):
        assert as_role(world, role).post(settings_url, data).status_code == 403
    assert not Annex.objects.exists()
    assert not DocumentSettings.objects.exists()


def test_another_companys_contracts_and_annexes_do_not_exist(world, contract, annex, other):
    c = as_role(world, Role.ADMIN)
    url = reverse("documents:contract-annexes", args=[other.contract.pk])
    assert c.get(url).status_code == 404
    upload = {"file": SimpleUploadedFile("r.csv", b"a;b\n", "text/csv")}
    assert c.post(url, upload).status_code == 404
    assert c.get(reverse("documents:annex-download", args=[other.annex.pk])).status_code == 404
    assert Annex.objects.filter(contract=other.contract).count() == 1
    # The preview is of the company's own latest invoice, never another company's.
    text = pdf_text(c.get(reverse("documents:settings-preview")).content)
    assert contract.invoices.get().full_number in text and "ALT" not in text


def test_settings_are_saved_and_a_bad_colour_is_refused_next_to_the_field(world, contract):
    c = as_role(world, Role.ADMIN)
    url = reverse("documents:settings")
    r = c.post(url, {"accent_color": "red", "footer_text": "", "bilingual": "True"})
    assert r.status_code == 400
    assert r.context["form"].errors["accent_color"]
    html = r.content.decode()
    assert "#1F4E79" in html.split('id="id_accent_color_error"', 1)[1].split("</ul>", 1)[0]
    r = c.post(url, {"accent_color": "#AA0000", "footer_text": "Mulțumim!", "bilingual": "False"})
    assert r.status_code == 302
    ds = DocumentSettings.objects.get(company=world.company)
    assert (ds.accent_color, ds.footer_text, ds.bilingual) == ("#AA0000", "Mulțumim!", False)
    page = c.get(url).content.decode()
    assert 'value="#AA0000"' in page and "Mulțumim!" in page
    assert '<option value="False" selected>' in page
    assert reverse("documents:settings-preview") in page  # the preview frame


def test_the_preview_renders_the_latest_invoice_with_unsaved_settings_and_stores_nothing(
    world, contract
):
    c = as_role(world, Role.ADMIN)
    stored = InvoiceDocument.objects.count()
    url = reverse("documents:settings-preview")
    r = c.get(url)
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert r["X-Frame-Options"] == "SAMEORIGIN"  # may be framed by the settings page only
    saved = pdf_text(r.content)
    assert (
        contract.invoices.get().full_number in saved and "Pagina / Page" in saved
    )  # bilingual default
    r = c.get(url, {"accent_color": "#AA0000", "footer_text": "Vă mulțumim pentru plată",
                    "bilingual": "False"})  # fmt: skip
    edited = pdf_text(r.content)
    assert "Vă mulțumim pentru plată" in edited and "Page" not in edited
    assert InvoiceDocument.objects.count() == stored
    assert not DocumentSettings.objects.exists()


def test_the_preview_waits_for_a_first_invoice(world):
    c = as_role(world, Role.ADMIN)
    assert c.get(reverse("documents:settings-preview")).status_code == 404
    assert (
        "după ce firma emite prima factură" in c.get(reverse("documents:settings")).content.decode()
    )
    in_english(c)
    assert "first invoice" in c.get(reverse("documents:settings")).content.decode()


def test_an_annex_is_uploaded_listed_and_downloaded(world, contract):
    c = as_role(world, Role.ACCOUNTANT)
    url = reverse("documents:contract-annexes", args=[contract.pk])
    content = b"zi;kWh\n1;3\n"
    r = c.post(url, {"file": SimpleUploadedFile("consum ianuarie.csv", content, "text/csv"),
                     "description": "Raport consum"})  # fmt: skip
    assert r.status_code == 302 and r["Location"] == url
    a = Annex.objects.get(contract=contract)
    assert (a.filename, a.mime, a.size, a.description) == (
        "consum ianuarie.csv", "text/csv", len(content), "Raport consum",
    )  # fmt: skip
    page = c.get(url).content.decode()
    assert "consum ianuarie.csv" in page and "Raport consum" in page
    r = c.get(reverse("documents:annex-download", args=[a.pk]))
    assert r.content == content and r["Content-Type"] == "text/csv"
    assert (
        r["Content-Disposition"].startswith("attachment;") and "consum" in r["Content-Disposition"]
    )


@pytest.mark.parametrize(
    "name,content,reason",
    [
        ("contract.docx", b"PK\x03\x04word", ".docx files are not accepted by e-Factura"),
        ("run.exe", b"MZ\x90\x00", ".exe files are not accepted by e-Factura"),
        (
            "contract.pdf",
            b"<html>not a pdf</html>",
            "the content of contract.pdf is not a PDF file",
        ),
        ("scan.png", b"\xff\xd8\xff\xe0 jpeg", "the content of scan.png is not a PNG file"),
    ],
)
def test_a_refused_annex_is_refused_with_the_reason_next_to_the_file(
    world, contract, name, content, reason
):
    c = in_english(as_role(world, Role.ACCOUNTANT))
    url = reverse("documents:contract-annexes", args=[contract.pk])
    r = c.post(url, {"file": SimpleUploadedFile(name, content, "application/octet-stream")})
    assert r.status_code == 400
    assert any(reason in e for e in r.context["form"].errors["file"])
    block = r.content.decode().split('id="id_file_error"', 1)[1].split("</ul>", 1)[0]
    assert reason in block
    assert not Annex.objects.exists()


def test_annexes_over_the_size_limit_are_refused(world, contract, monkeypatch):
    from recurent.documents import annexes
    from recurent.web.documents import forms

    c = as_role(world, Role.ACCOUNTANT)
    url = reverse("documents:contract-annexes", args=[contract.pk])
    monkeypatch.setattr(forms, "MAX_TOTAL_BYTES", 1000)
    r = c.post(url, {"file": SimpleUploadedFile("big.csv", b"a" * 1001, "text/csv")})
    assert r.status_code == 400
    assert "ANAF refuză încărcările de peste 10 MB" in r.context["form"].errors["file"][0]
    in_english(c)
    r = c.post(url, {"file": SimpleUploadedFile("big.csv", b"a" * 1001, "text/csv")})
    assert "ANAF refuses uploads over 10 MB" in r.context["form"].errors["file"][0]
    # The total counts: two files each under the limit, together over it (annex_add decides).
    monkeypatch.setattr(annexes, "MAX_TOTAL_BYTES", 1000)
    assert (
        c.post(url, {"file": SimpleUploadedFile("a.csv", b"a" * 600, "text/csv")}).status_code
        == 302
    )
    r = c.post(url, {"file": SimpleUploadedFile("b.csv", b"b" * 600, "text/csv")})
    assert r.status_code == 400 and "ANAF refuses uploads" in r.context["form"].errors["file"][0]
    assert Annex.objects.count() == 1


@pytest.mark.parametrize(
    "name,content,reason",
    [
        ("contract.docx", b"PK\x03\x04word", "fișierele .docx nu sunt acceptate de e-Factura"),
        ("contract.pdf", b"<html>not a pdf</html>", "conținutul lui contract.pdf nu este un fișier PDF"),
        ("scan.png", b"\xff\xd8\xff\xe0 jpeg", "conținutul lui scan.png nu este un fișier PNG"),
    ],
)  # fmt: skip
def test_a_refused_annex_is_explained_in_romanian_by_default(
    world, contract, name, content, reason
):
    c = as_role(world, Role.ACCOUNTANT)
    url = reverse("documents:contract-annexes", args=[contract.pk])
    r = c.post(url, {"file": SimpleUploadedFile(name, content, "application/octet-stream")})
    assert r.status_code == 400
    block = r.content.decode().split('id="id_file_error"', 1)[1].split("</ul>", 1)[0]
    assert reason in block


def test_the_documents_pages_speak_romanian_by_default_and_english_on_request(world, contract):
    c = as_role(world, Role.ADMIN)
    settings_url = reverse("documents:settings")
    annexes_url = reverse("documents:contract-annexes", args=[contract.pk])
    page = c.get(settings_url).content.decode()
    assert "PDF-ul facturii" in page and "Culoare de accent" in page and "Limba etichetelor" in page
    assert "Deschide previzualizarea într-o filă nouă" in page
    page = c.get(annexes_url).content.decode()
    assert "Adaugă o anexă" in page and "Nicio anexă." in page and "Încarcă" in page
    r = c.post(annexes_url, {"file": SimpleUploadedFile("a.csv", b"a;b", "text/csv")}, follow=True)
    assert "Anexa a.csv a fost adăugată." in r.content.decode()
    in_english(c)
    page = c.get(settings_url).content.decode()
    assert "Invoice PDF" in page and "Accent colour" in page and "Language of the labels" in page
    page = c.get(annexes_url).content.decode()
    assert "Add an annex" in page and "Upload" in page and "a.csv" in page
