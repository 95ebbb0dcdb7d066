"""Issue 22: attachments are base64-encoded in one call and put into the generated message, not
written line by line by the email generator. The message must read exactly as before."""

import os
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY

from recurent.mail.mime import attach, with_bodies


def _skeleton() -> EmailMessage:
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"], msg["To"], msg["Subject"] = "facturi@firma.ro", "client@ex.ro", "Factura F-1 ă"
    msg.set_content("Bună ziua, găsiți factura atașată.")
    msg.add_alternative("<p>Bună ziua</p>", subtype="html")
    return msg


def _parts(data: bytes) -> list[tuple[str, str | None, bytes, str | None]]:
    parsed = message_from_bytes(data, policy=policy.default)
    return [
        (
            p.get_content_type(),
            p.get_filename(),
            p.get_payload(decode=True),
            p["Content-Transfer-Encoding"],
        )
        for p in parsed.walk()
        if not p.is_multipart()
    ]


def test_the_message_reads_the_same_as_the_generators():
    atts = [
        ("F-000001.pdf", b"%PDF-1.7\n" + os.urandom(50_000), "application/pdf"),
        ("F-000001.xml", "<Invoice>ă</Invoice>".encode() * 200, "application/xml"),
        ("consum.csv", b"", "text/csv"),  # an empty annex too
    ]
    before = _skeleton()
    for name, content, ctype in atts:
        maintype, _, subtype = ctype.partition("/")
        before.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    after = _skeleton()
    bodies = attach(after, atts)
    data = with_bodies(after.as_bytes(), bodies)
    assert _parts(data) == _parts(before.as_bytes())
    assert b"recurent-attachment-" not in data
    # SMTP line endings and line lengths throughout.
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
