"""Reading what ANAF sends back: the ZIP archives and its error messages, in plain words."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .http import AnafMalformed
from .spv import _errors_in, _local, parse_xml, zip_members

_RULE = re.compile(r"\[(?P<rule>[A-Z]{2,}[A-Z0-9-]*-\d+[a-z]?)\]\s*-?\s*(?P<text>.*)", re.DOTALL)
_SAX = re.compile(
    r"SAXParseException;\s*lineNumber:\s*(?P<line>\d+);\s*columnNumber:\s*(?P<col>\d+);\s*(?P<text>.*)",
    re.DOTALL,
)
_CIF_NOT_REGISTERED = re.compile(r"nu este inregistrat.*RO e-Factura", re.IGNORECASE)


def plain(message: str) -> str:
    """One ANAF message as an accountant can read it: rule code and ANAF's sentence, no Java."""
    msg = " ".join(message.split())
    sax = _SAX.search(msg)
    if sax:
        return (
            f"The file is not well-formed XML (line {sax['line']}, column {sax['col']}): "
            f"{sax['text'].strip()}"
        )
    rule = _RULE.search(msg)
    if rule:
        return f"Rule {rule['rule']}: {rule['text'].strip()}"
    if _CIF_NOT_REGISTERED.search(msg):
        return f"The seller's CUI is not registered for RO e-Factura at ANAF ({msg})"
    # "E: validari globale  eroare: ..." and similar prefixes carry no information for a person.
    return (
        re.sub(r"^[EW]:\s*(validari\s+\w+\s+)?(eroare:?)?\s*", "", msg, flags=re.IGNORECASE) or msg
    )


def plain_all(messages: list[str]) -> list[str]:
    return [plain(m) for m in messages]


@dataclass(frozen=True)
class InvoiceInZip:
    number: str
    issue_date: str
    member: str


def _documents(zip_bytes: bytes) -> list[tuple[str, bytes]]:
    """The XML members that are not ANAF's signature."""
    return [
        (name, data)
        for name, data in zip_members(zip_bytes).items()
        if name.lower().endswith(".xml") and not name.lower().startswith("semnatura")
    ]


def invoice_in_zip(zip_bytes: bytes) -> InvoiceInZip | None:
    """Number and date of the invoice inside an ANAF answer, or None if it holds no invoice."""
    for name, data in _documents(zip_bytes):
        try:
            root = parse_xml(data, f"ZIP member {name}")
        except AnafMalformed:
            continue
        if _local(root.tag) not in {"Invoice", "CreditNote"}:
            continue
        number = date = ""
        for child in root:
            tag = _local(child.tag)
            if tag == "ID" and not number:
                number = (child.text or "").strip()
            elif tag == "IssueDate" and not date:
                date = (child.text or "").strip()
        return InvoiceInZip(number, date, name)
    return None


def errors_in_zip(zip_bytes: bytes) -> list[str]:
    """ANAF's messages from the error file of a rejected invoice."""
    out: list[str] = []
    for name, data in _documents(zip_bytes):
        try:
            root = parse_xml(data, f"ZIP member {name}")
        except AnafMalformed:
            continue
        out.extend(_errors_in(root))
    return out
