"""MIME assembly the sender does many times a second."""

from __future__ import annotations

import base64
import binascii
import uuid
from email.header import Header
from email.utils import encode_rfc2231, formataddr, quote

# ---- the whole message, assembled directly -------------------------------------------------
# The email package parses every header it is given (headerregistry) and writes every part
# through its generator: ~3 ms of the ~4.5 ms a message took to build. The sender's messages
# all have one shape (text, maybe HTML, maybe attachments), so they are put together here from
# C-speed encoders; the result parses to the same headers and parts as the email package's
# (tests/mail/test_mime_build.py compares them).

CRLF = b"\r\n"


def _clean(value: str) -> str:
    # A header value is one line: a CR or LF in it would start a header of the sender's choice.
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())


def header(name: str, value: str) -> bytes:
    """``Name: value``, RFC 2047-encoded when not ASCII, folded under 78 columns when long."""
    value = _clean(value)
    if value.isascii() and len(name) + 2 + len(value) <= 78:
        return f"{name}: {value}".encode("ascii")
    if value.isascii():
        return _fold_ascii(name, value)
    encoded = Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
    return f"{name}: {encoded}".encode("ascii")


def _fold_ascii(name: str, value: str) -> bytes:
    lines, line = [], f"{name}:"
    for word in value.split(" "):
        if len(line) + 1 + len(word) > 78 and line != f"{name}:":
            lines.append(line)
            line = ""
        line += " " + word
    lines.append(line)
    return "\r\n".join(lines).encode("ascii")


def address(display: str, email: str) -> str:
    """``Name <user@domain>``, the name quoted or RFC 2047-encoded as it needs."""
    return formataddr((_clean(display), email), charset="utf-8") if display else email


def _text_part(subtype: str, text: str) -> bytes:
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    if not body.endswith("\n"):
        body += "\n"
    qp = binascii.b2a_qp(body.encode("utf-8"), quotetabs=False, istext=True, header=False)
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n".encode("ascii")
        + qp.replace(b"\n", CRLF)
    )


def _attachment_part(filename: str, content: bytes, ctype: str) -> bytes:
    maintype, _, subtype = (ctype or "application/octet-stream").partition("/")
    name = _clean(filename)
    disposition = (
        f'filename="{quote(name)}"'
        if name.isascii()
        else f"filename*={encode_rfc2231(name, 'utf-8')}"
    )
    head = (
        f"Content-Type: {maintype}/{subtype or 'octet-stream'}\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: attachment; {disposition}\r\n\r\n"
    )
    return head.encode("ascii") + base64.encodebytes(content).replace(b"\n", CRLF)


def _multipart(subtype: str, parts: list[bytes]) -> bytes:
    boundary = f"=_recurent_{uuid.uuid4().hex}"
    # As the email generator writes it: the CRLF before each delimiter belongs to the delimiter.
    head = f'Content-Type: multipart/{subtype};\r\n boundary="{boundary}"\r\n\r\n'
    delimiter = f"\r\n--{boundary}\r\n".encode("ascii")
    return (
        head.encode("ascii")
        + f"--{boundary}\r\n".encode("ascii")
        + delimiter.join(parts)
        + f"\r\n--{boundary}--\r\n".encode("ascii")
    )


def build(
    *,
    headers: list[tuple[str, str]],
    text: str,
    html: str = "",
    attachments: list[tuple[str, bytes, str]] | None = None,
) -> bytes:
    """The message's bytes, SMTP line endings: the headers in order, then a text body, an HTML
    alternative when given, and the attachments (filename, content, MIME type)."""
    body = _text_part("plain", text)
    if html:
        body = _multipart("alternative", [body, _text_part("html", html)])
    if attachments:
        body = _multipart("mixed", [body, *(_attachment_part(*a) for a in attachments)])
    head = CRLF.join(header(n, v) for n, v in headers)
    return head + CRLF + b"MIME-Version: 1.0" + CRLF + body


def ascii_address(addr: str) -> str:
    """user@domain with an internationalised domain in its ASCII (IDNA) form, as headers and
    the SMTP envelope need it without SMTPUTF8."""
    user, at, domain = addr.rpartition("@")
    if at and not domain.isascii():
        domain = domain.encode("idna").decode("ascii")
    return f"{user}{at}{domain}"
