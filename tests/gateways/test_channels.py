"""The pay link reaches the client in the invoice email (a template variable), on the portal and
on the PDF (a QR code next to the IBAN)."""

import subprocess
from urllib.parse import urlsplit

from recurent.clients.portal_links import portal_token
from recurent.documents import pdf
from recurent.documents.snapshot import from_invoice
from recurent.gateways.links import pay_url
from recurent.gateways.selectors import pay_link_for
from recurent.mail import templating
from tests.payments.helpers import issued


def _text_of(pdf_bytes, tmp_path):
    f = tmp_path / "i.pdf"
    f.write_bytes(pdf_bytes)
    return subprocess.run(["pdftotext", str(f), "-"], capture_output=True, text=True).stdout


def test_the_email_variable_holds_the_pay_link_only_when_it_can_be_paid(world, stripe_account):
    _, [inv] = issued(world)
    ctx = templating.invoice_context(inv, lang="ro", portal_url="p")
    assert ctx["pay_url"] == pay_url(inv.pk)
    out = templating.render(subject="s", body_text="Plătiți aici: {{ pay_url }}", body_html="",
                            context=ctx)  # fmt: skip
    assert pay_url(inv.pk) in out.text
    stripe_account.enabled = False
    stripe_account.save()
    assert templating.invoice_context(inv, lang="ro", portal_url="p")["pay_url"] == ""


def test_a_template_may_use_the_pay_link(world):
    templating.check_source("{% if pay_url %}<a href=\"{{ pay_url }}\">Plătiți</a>{% endif %}",
                            field="body_html", kind="invoice", html=True)  # fmt: skip


def test_the_portal_offers_the_pay_link_of_each_open_invoice(world, stripe_account, client):
    cl, [inv] = issued(world)
    page = client.get(f"/portal/{portal_token(cl.pk)}/").content.decode()
    assert 'id="online-payments"' in page and urlsplit(pay_url(inv.pk)).path in page


def test_the_pdf_carries_the_pay_link_as_a_qr_code_next_to_the_iban(
    world, stripe_account, tmp_path
):
    _, [inv] = issued(world)
    data = from_invoice(inv)
    assert pdf.pay_qr(data) is not None and pay_link_for(inv) == pay_url(inv.pk)
    with_qr = pdf.render(data)
    assert "Plătiți online cu cardul" in _text_of(with_qr, tmp_path)
    stripe_account.enabled = False
    stripe_account.save()
    assert pdf.pay_qr(data) is None
    assert "Plătiți online" not in _text_of(pdf.render(data), tmp_path)
