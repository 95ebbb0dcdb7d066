"""What Romanian banks write in an MT940 ``:86:`` field, read into payer, IBAN and text.

The ``mt-940`` package reads the tags; the ``:86:`` text is each bank's own. The layouts and the
values they must give come from OCA's l10n-romania parsers and their test files
(``l10n_ro_account_bank_statement_import_mt940_{bcr,brd,ing,rffsn,alpha,bt}``):

- structured, a separator and two-digit subfield codes after a three-digit transaction code:
  ``?`` (German/SEPA layout, 20-29 and 60-63 text, 31 account, 32-33 name),
  ``+`` BRD (``000+20Plata+30…+31IBAN+32NAME+33/+23TEXT``: text in 23-29),
  ``^`` Raiffeisen (``000^20F.2059628^24Ref.Doc…^30BANK^31IBAN^32NAME``),
  ``~`` ING Romania (``035~20AMT RCD…~25TEXT~32NAME~33IBAN``: the IBAN is in 33, 20 is not text);
  lines are cut at a fixed width, mid-word, so they are joined without a space;
- keywords: BCR (``Referinta … Platitor NAME IBAN CODFISC … -Beneficiar … -Detalii TEXT``),
  Alpha Bank (``PLATITOR NAME [BIC] IBAN[CCY] [BIC] DETALII TEXT END TO END ID … CUST REFERENCE …``),
  the SWIFT ``/NAME/…/IBAN/…/REMI/…`` codes (Rabobank, ABN AMRO exports);
- free text (Banca Transilvania and the banks without a layout of their own: UniCredit, CEC,
  Libra, OTP): the counterparty's name is the run of capitalised words just before its IBAN,
  ``C.I.F.`` and ``EREF+``/``END TO END ID`` read where present.

For a credit the counterparty is the payer; for a debit the beneficiary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum import iban as stdiban

IBAN_TOKEN = re.compile(r"(?<![A-Z0-9])([A-Z]{2}\d{2}[A-Z0-9]{10,32})")
BIC_TOKEN = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?$")
CURRENCIES = ("RON", "EUR", "USD", "GBP", "CHF", "HUF")
STRUCTURED = re.compile(r"^\s*(\d{3})\s*([?+^~])(\d\d)")
EREF = re.compile(r"(?:EREF\+|/EREF/|END TO END ID\s*:?)\s*([A-Za-z0-9./\-]{1,35})")


@dataclass(frozen=True)
class Details:
    payer_name: str = ""
    payer_iban: str = ""
    remittance: str = ""
    end_to_end_id: str = ""
    reference: str = (
        ""  # the bank's own reference inside :86: (BCR "Referinta", Alpha "CUST REFERENCE")
    )
    dialect: str = ""


def _squash(text: str) -> str:
    return " ".join(text.split())


def iban_in(text: str, own: str = "") -> str:
    """The first IBAN in ``text`` that is not ``own`` (a valid one first, else a well-formed one)."""
    own = own.replace(" ", "").upper()
    found = []
    for m in IBAN_TOKEN.finditer((text or "").upper()):
        tok = m.group(1)
        # Exports glue the account to what follows ("RO21INGB...4567GAMA", "RO39...RON").
        valid = next(
            (tok[:n] for n in range(min(len(tok), 34), 14, -1) if stdiban.is_valid(tok[:n])), ""
        )
        if valid and valid != own:
            return valid
        if not valid:
            if tok.endswith(CURRENCIES) and len(tok) > 18:
                tok = tok[:-3]
            if tok != own and tok[:2].isalpha():
                found.append(tok)
    return found[0] if found else ""


def _structured(lines: list[str], sep: str, own: str) -> Details:
    joined = "".join(lines).replace("\r", "")
    sub: dict[str, str] = {}
    for m in re.finditer(rf"{re.escape(sep)}(\d\d)([^{re.escape(sep)}]*)", joined):
        sub[m.group(1)] = sub.get(m.group(1), "") + m.group(2)
    sub = {k: _squash(v) for k, v in sub.items()}
    payer_iban = ""
    for key in ("31", "33", "38"):
        payer_iban = iban_in(sub.get(key, ""), own)
        if payer_iban:
            break
    names = [sub.get("32", "")]
    if sub.get("33") and not iban_in(sub["33"]) and sub["33"] not in {"/", "-"}:
        names.append(sub["33"])
    if sep == "+":  # BRD: 20 is the kind of operation, the payer's words are in 23-29
        keys = [str(k) for k in range(23, 30)]
        if not any(sub.get(k) for k in keys):
            keys = ["20", "21", "22"]
        dialect = "brd"
    elif sep == "~":  # ING: 20 repeats the amount ("AMT RCD RON 1000,00")
        keys = [str(k) for k in range(21, 30)]
        dialect = "ing"
    else:
        keys = [str(k) for k in (*range(20, 30), *range(60, 64))]
        dialect = "raiffeisen" if sep == "^" else "sepa"
    text = " ".join(sub[k] for k in keys if sub.get(k))
    eref = EREF.search(text)
    return Details(
        payer_name=" ".join(n for n in names if n).strip(),
        payer_iban=payer_iban,
        remittance=text,
        end_to_end_id=eref.group(1) if eref else "",
        dialect=dialect,
    )


def _bcr(lines: list[str], credit: bool, own: str) -> Details | None:
    joined = _squash("".join(lines))
    if "Platitor" not in joined or "Beneficiar" not in joined:
        return None
    ref = re.search(r"Referinta\s+(\w+)", joined)
    party = "Platitor" if credit else "Beneficiar"
    who = re.search(rf"{party}\s+(.*?)\s+([A-Z]{{2}}\d\d[A-Z0-9]{{10,32}})\b", joined)
    text = re.search(r"Detalii\s*(.*)$", joined)
    return Details(
        payer_name=who.group(1).strip(" -") if who else "",
        payer_iban=iban_in(who.group(2), own) if who else "",
        remittance=text.group(1).strip() if text else joined,
        reference=ref.group(1) if ref else "",
        dialect="bcr",
    )


def _alpha(lines: list[str], credit: bool, own: str) -> Details | None:
    joined = "".join(lines)
    party = "PLATITOR" if credit else "BENEFICIAR"
    m = re.search(rf"{party}\s+(.*?)\s*DETALII\s*(.*)$", joined, re.S)
    if not m:
        return None
    rest, text = _squash(m.group(1)), _squash(m.group(2))
    tok = IBAN_TOKEN.search(rest)
    payer_iban = iban_in(tok.group(1), own) if tok else ""
    words = (rest[: tok.start()] if tok else rest).split()
    if words and BIC_TOKEN.match(words[-1]):
        words = words[:-1]  # "NAME BUCUROBU RO39…": the BIC of the payer's bank
    cust = re.search(r"CUST REFERENCE\s+(\S+)", text)
    e2e = re.search(r"END TO END ID\s+(\S+)", text)
    text = re.split(r"\s*(?:END TO END ID|CUST REFERENCE)", text)[0]
    e2e_id = e2e.group(1) if e2e and e2e.group(1) != "NOTPROVIDED" else ""
    return Details(
        payer_name=" ".join(words),
        payer_iban=payer_iban,
        remittance=text.strip(),
        end_to_end_id=e2e_id,
        reference=cust.group(1) if cust else "",
        dialect="alpha",
    )


BT_LAYOUT = re.compile(
    r"canal electronic\s*(?:C\.I\.F\.:?\s*(?P<cif>\d+))?\s*(?P<body>.*?)\s+1\s+(?P<name>\S.*?)\s+"
    r"(?P<iban>[A-Z]{2}\d\d[A-Z0-9]{10,32})(?:\s+[A-Z0-9]{8,11})?\s+REF:\s*(?P<ref>\S+)"
)


def _bt(lines: list[str], own: str) -> Details | None:
    # "Incasare OP - canal electronic C.I.F.:20744552 PL.TOT F. CPN/2025/000022 DIN 08.01 .2025
    #  1 MAROCO AMBIENT SRL RO60BTRLRONCRT0447604301 BTRLRO22  REF: 139ZEXA2500902BX"
    text = _squash(" ".join(li.strip() for li in lines))
    m = BT_LAYOUT.search(text)
    if not m:
        return None
    return Details(
        payer_name=m.group("name"),
        payer_iban=iban_in(m.group("iban"), own),
        remittance=m.group("body"),
        reference=m.group("ref"),
        dialect="bt",
    )


SWIFT_CODES = re.compile(
    r"/(NAME|IBAN|REMI|EREF|ADDR|BIC|ISDT|CSID|MARF|TRTP|ORDP|BENM|RTRN|CNTP)/"
)


def _swift_codes(lines: list[str], own: str) -> Details | None:
    joined = "".join(lines)
    if not SWIFT_CODES.search(joined) or "/NAME/" not in joined and "/REMI/" not in joined:
        return None
    parts: dict[str, str] = {}
    marks = list(SWIFT_CODES.finditer(joined))
    for m, nxt in zip(marks, [*marks[1:], None], strict=True):
        end = nxt.start() if nxt else len(joined)
        parts.setdefault(m.group(1), joined[m.end() : end].strip("/ "))
    return Details(
        payer_name=_squash(parts.get("NAME", "")),
        payer_iban=iban_in(parts.get("IBAN", "") or parts.get("CNTP", ""), own),
        remittance=_squash(parts.get("REMI", "")),
        end_to_end_id=parts.get("EREF", "") if parts.get("EREF") != "NOTPROVIDED" else "",
        dialect="swift",
    )


def _free_text(lines: list[str], own: str) -> Details:
    # BT and most others wrap at word boundaries: the line breaks are spaces.
    text = _squash(" ".join(li.strip() for li in lines))
    payer_iban = iban_in(text, own)
    name = ""
    if payer_iban:
        at = text.upper().find(payer_iban[:8])
        before = text[:at] if at >= 0 else ""
        m = re.search(r"([A-Z]{2}[A-Z0-9.\-'&]*(?:\s+[A-Z][A-Z0-9.\-'&]*)*)\s*$", before)
        if m:
            name = m.group(1).strip()
    if not name:
        m = re.search(r"(?:Ordonator|Platitor|Plătitor)[: ]+([^,;/]+)", text, re.I)
        if m:
            name = m.group(1).strip()
    eref = EREF.search(text)
    e2e = eref.group(1) if eref and eref.group(1) != "NOTPROVIDED" else ""
    return Details(
        payer_name=name, payer_iban=payer_iban, remittance=text, end_to_end_id=e2e, dialect="text"
    )


def read_86(lines: list[str], *, account: str, credit: bool) -> Details:
    """Payer (or beneficiary of a debit), IBAN, remittance text and references of one ``:86:``."""
    if not lines or not "".join(lines).strip():
        return Details()
    own = iban_in(account)
    m = STRUCTURED.match(lines[0])
    if m:
        return _structured(lines, m.group(2), own)
    for reader in (_bcr, _alpha):
        found = reader(lines, credit, own)
        if found is not None:
            return found
    return _bt(lines, own) or _swift_codes(lines, own) or _free_text(lines, own)
