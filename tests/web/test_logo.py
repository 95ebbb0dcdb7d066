"""The company logo (issue 16, item 6): only real images, capped, scaled down so that an invoice
PDF stays under 200 KB; the current-logo link works and clearing it works."""

import io
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from recurent.companies.logo import MAX_SIDE
from recurent.companies.models import Company
from recurent.documents.services import document_bytes
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _noisy_png(w: int, h: int) -> bytes:
    # Random pixels do not compress: a photo-sized logo of several megabytes.
    out = io.BytesIO()
    Image.frombytes("RGB", (w, h), os.urandom(w * h * 3)).save(out, "PNG", compress_level=0)
    return out.getvalue()


def _post(client, world, logo=None, clear=False):
    c = Company.objects.get(pk=world.company.pk)
    body = {
        "legal_name": c.legal_name, "cui": c.cui, "street": c.street, "city": c.city,
        "county": c.county, "country": "RO", "postal_code": c.postal_code, "iban": c.iban,
        "bank": c.bank, "vat_payer": "on", "email": c.email, "phone": "", "trade_register": "",
        "share_capital": "",
    }  # fmt: skip
    if logo is not None:
        body["logo"] = logo
    if clear:
        body["logo-clear"] = "on"
    return client.post(reverse("web:settings"), body)


def test_a_big_image_is_scaled_down_and_the_invoice_pdf_stays_small(admin_client, world):
    big = _noisy_png(1400, 1000)
    assert len(big) > 4 * 1024 * 1024
    r = _post(admin_client, world, SimpleUploadedFile("logo.png", big, "image/png"))
    assert r.status_code == 302
    company = Company.objects.get(pk=world.company.pk)
    with company.logo.open("rb") as fh:
        stored = fh.read()
    with Image.open(io.BytesIO(stored)) as im:
        assert max(im.size) <= MAX_SIDE
    assert len(stored) < 150 * 1024, len(stored)
    c = f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 1, 31, 10, 0))
    pdf = document_bytes(c.invoices.get(), "pdf")
    assert pdf.startswith(b"%PDF") and len(pdf) < 200 * 1024, len(pdf)


def test_a_text_file_named_png_is_refused_in_romanian(admin_client, world):
    fake = SimpleUploadedFile("logo.png", b"not an image at all\n" * 50, "image/png")
    r = _post(admin_client, world, fake)
    assert r.status_code == 200
    assert "fișierul nu este o imagine" in r.content.decode()
    assert not Company.objects.get(pk=world.company.pk).logo


def test_a_file_over_the_cap_is_refused(admin_client, world):
    huge = SimpleUploadedFile("logo.png", b"\x89PNG" + b"0" * (5 * 1024 * 1024 + 10), "image/png")
    r = _post(admin_client, world, huge)
    assert r.status_code == 200 and "mai mare de 5 MB" in r.content.decode()


def test_the_current_logo_link_opens_the_logo_and_clearing_removes_it(admin_client, world):
    small = io.BytesIO()
    Image.new("RGBA", (120, 40), (37, 99, 235, 255)).save(small, "PNG")
    assert (
        _post(admin_client, world, SimpleUploadedFile("l.png", small.getvalue())).status_code == 302
    )
    page = admin_client.get(reverse("web:settings")).content.decode()
    link = reverse("web:company-logo")
    assert f'href="{link}"' in page
    r = admin_client.get(link)
    assert r.status_code == 200 and r["Content-Type"] == "image/png"
    assert _post(admin_client, world, clear=True).status_code == 302
    assert not Company.objects.get(pk=world.company.pk).logo
    assert admin_client.get(link).status_code == 404
