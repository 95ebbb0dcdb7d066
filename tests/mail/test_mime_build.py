"""Issue 22: the sender assembles its messages itself (recurent/mail/mime.build) instead of
through the email package's header registry and generator. Whatever it builds must read, once
parsed, exactly as the email package's own message with the same headers, bodies and
attachments: same header values, same parts, same decoded contents."""

import os
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY

import pytest

from recurent.mail.mime import address, ascii_address, build, header

PDF = b"%PDF-1.7\n" + os.urandom(50_000)
ATTS = [
    ("F-000001.pdf", PDF, "application/pdf"),
    ("F-000001.xml", "<Invoice>ă</Invoice>".encode() * 200, "application/xml"),
    ("consum martie ș.csv", b"", "text/csv"),  # an empty annex, a name that is not ASCII
]
TEXT = "Bună ziua,\n\nvă trimitem factura FCT 12.\t\nTotal: 1.234,50 lei  \n" + "ș" * 200
HTML = "<p>Bună ziua,</p>\n<p>vă trimitem <b>factura</b> FCT 12.</p>" + "<br>" * 100


def _headers(subject="Factura FCT 12 din 01.12.2026 — scadentă", display="Firma Ăă, SRL"):
    return [
        ("From", address(display, "facturi@firma.ro")),
        ("To", ", ".join(f"client{i}@exemplu.ro" for i in range(12))),
        ("Reply-To", "contabil@firma.ro"),
        ("Subject", subject),
        ("Date", "Thu, 03 Dec 2026 09:00:00 +0200"),
        ("Message-ID", "<recurent.7.abc@firma.ro>"),
        ("X-Recurent-Invoice", "FCT 12"),
    ]


def _email_package(headers, text, html, atts):
    msg = EmailMessage(policy=SMTP_POLICY)
    for name, value in headers:
        msg[name] = value
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    for filename, content, ctype in atts:
        maintype, _, subtype = ctype.partition("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def _reading(data: bytes):
    parsed = message_from_bytes(data, policy=policy.default)
    # The boundary and the transfer encoding the two choose differ; what they carry may not.
    skip = ("Content-Type", "Content-Transfer-Encoding")
    heads = {k: str(v) for k, v in parsed.items() if k not in skip}
    parts = [
        (
            p.get_content_type(),
            p.get_content_charset(),
            p.get_filename(),
            p.get_content() if p.get_content_maintype() == "text" and not p.get_filename()
            else p.get_payload(decode=True),
        )
        for p in parsed.walk()
        if not p.is_multipart()
    ]  # fmt: skip
    return heads, [p.get_content_type() for p in parsed.walk()], parts


@pytest.mark.parametrize(
    "html,atts",
    [("", []), (HTML, []), ("", ATTS), (HTML, ATTS)],
    ids=["text", "html", "atts", "all"],
)
@pytest.mark.parametrize(
    "subject",
    ["Factura FCT 12", "Factura FCT 12 din 01.12.2026 — scadentă", "Invoice" + " x" * 120],
)
def test_the_message_reads_as_the_email_packages(html, atts, subject):
    headers = _headers(subject)
    ours = build(headers=headers, text=TEXT, html=html, attachments=atts)
    assert _reading(ours) == _reading(_email_package(headers, TEXT, html, atts))
    # SMTP line endings, and no line over the 998 octets RFC 5321 allows (78 for headers).
    assert b"\n" not in ours.replace(b"\r\n", b"")
    head, _, body = ours.partition(b"\r\n\r\n")
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    assert max(len(line) for line in body.split(b"\r\n")) <= 998
    assert ours.isascii()


def test_a_header_never_carries_a_line_break_of_the_senders_choice():
    data = header("Subject", "Factura\r\nBcc: victima@exemplu.ro")
    assert b"\r\nBcc" not in data and data == b"Subject: Factura Bcc: victima@exemplu.ro"


def test_display_names_are_quoted_or_encoded_and_domains_made_ascii():
    parsed = message_from_bytes(
        build(headers=[("From", address('Firma "X", SRL', "a@b.ro"))], text="x"),
        policy=policy.default,
    )
    assert parsed["From"].addresses[0].display_name == 'Firma "X", SRL'
    user, _, domain = ascii_address("facturi@firmă.ro").partition("@")
    assert domain.isascii() and domain.encode().decode("idna") == "firmă.ro"
    assert ascii_address("facturi@firma.ro") == "facturi@firma.ro"
