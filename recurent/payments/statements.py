"""Bank statement parsers: CAMT.053 (ISO 20022, lxml) and MT940 (the ``mt-940`` package).

Both produce the same ``Entry`` list. A file is checked whole before anything is written: a
syntax error, a missing field, a bad amount or balances that do not add up (a truncated or
edited file) raise ``StatementError`` with the line of the file and the reason.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from lxml import etree

from . import dialects

CAMT_NS = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:camt\.(\d{3})\.001\.(\d\d)$")


class StatementError(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class Entry:
    account_iban: str
    booking_date: date
    value_date: date | None
    amount: Decimal  # positive
    currency: str
    credit: bool
    reversal: bool
    bank_reference: str
    end_to_end_id: str
    payer_name: str
    payer_iban: str
    remittance: str
    return_reason: str
    source_line: int


@dataclass(frozen=True)
class Parsed:
    format: str
    account_iban: str
    entries: list[Entry]


def _fallback_ref(*parts: object) -> str:
    # No bank reference at all: a digest of what the entry says (not of the file it came in), so
    # an overlapping statement finds it again; ``number_repeats`` tells identical ones apart.
    return "H" + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:32]


def number_repeats(entries: list[Entry]) -> list[Entry]:
    """An entry's identity is its bank reference; where two entries of one file share it (or have
    none and say the same thing), the second is ``#2``, the third ``#3``: two identical transfers
    on one day are two payments, and the same day imported again gives the same identities."""
    seen: dict[tuple, int] = {}
    out = []
    for e in entries:
        ref = e.bank_reference or _fallback_ref(
            e.account_iban, e.booking_date, e.amount, e.credit, e.reversal, e.payer_name,
            e.payer_iban, e.remittance, e.end_to_end_id,
        )  # fmt: skip
        key = (e.account_iban, e.booking_date, e.amount, e.credit, ref)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            ref = f"{ref[:110]}#{seen[key]}"
        out.append(dataclasses.replace(e, bank_reference=ref[:120]))
    return out


def parse(content: bytes, filename: str = "", mapping: object | None = None) -> Parsed:
    """Read a CAMT.053, MT940 or BT/ING CSV or XLSX file whole (or a CSV/XLSX export with an
    account's saved ``mapping``), or raise ``StatementError(line, reason)``."""
    from .exports import is_xlsx, xlsx_to_text

    if is_xlsx(content):
        # An internet-banking XLSX export: read as the text of its CSV twin (one reader per bank).
        text = xlsx_to_text(content, mapping)  # type: ignore[arg-type]
        parsed = parse(text.encode("utf-8"), filename, mapping)
        return dataclasses.replace(parsed, format=parsed.format.replace("csv", "xlsx", 1))
    if mapping is not None:
        from .exports import parse_mapped

        parsed = parse_mapped(_decode(content), mapping)  # type: ignore[arg-type]
        return dataclasses.replace(parsed, entries=number_repeats(parsed.entries))
    head = content.lstrip(b"\xef\xbb\xbf \t\r\n")[:200]
    if content[:4] == b"PK\x03\x04":
        raise StatementError(1, "a ZIP archive: extract the statement file from it and upload that")
    if head.startswith(b"<"):
        parsed = parse_camt053(content)
    else:
        text = _decode(content)
        if ":20:" not in text and ":61:" not in text and ":25:" not in text:
            from .exports import kind_of, parse_export

            if not kind_of(text):
                raise StatementError(1, "neither a CAMT.053 XML file nor an MT940 statement")
            parsed = parse_export(text)  # a BT or ING internet-banking CSV
        else:
            parsed = parse_mt940(text)
    return dataclasses.replace(parsed, entries=number_repeats(parsed.entries))


def _decode(content: bytes) -> str:
    for enc in ("utf-8", "cp1250", "latin-1"):
        try:
            return content.decode(enc)
        except UnicodeDecodeError:
            continue
    raise StatementError(1, "unknown text encoding")  # pragma: no cover - latin-1 decodes anything


# --- CAMT.053 ----------------------------------------------------------------------------------


class _Camt:
    def __init__(self, ns: str) -> None:
        self.ns = ns

    def q(self, path: str) -> str:
        if not self.ns:  # a file without namespace (some exports): plain names
            return path
        return "/".join(f"{{{self.ns}}}{p}" if p not in {".", ".."} else p for p in path.split("/"))

    def find(self, el, path: str):  # type: ignore[no-untyped-def]
        return el.find(self.q(path))

    def findall(self, el, path: str):  # type: ignore[no-untyped-def]
        return el.findall(self.q(path))

    def text(self, el, *paths: str) -> str:  # type: ignore[no-untyped-def]
        for p in paths:
            node = self.find(el, p)
            if node is not None and (node.text or "").strip():
                return node.text.strip()
        return ""


def _camt_amount(node, where: str) -> tuple[Decimal, str]:  # type: ignore[no-untyped-def]
    line = node.sourceline if node is not None else 0
    if node is None:
        raise StatementError(line, f"{where}: amount missing")
    try:
        d = Decimal((node.text or "").strip())
    except InvalidOperation:
        raise StatementError(line, f"{where}: {node.text!r} is not an amount") from None
    if d < 0 or d != d.quantize(Decimal("0.01")):
        raise StatementError(line, f"{where}: {node.text!r} is not an amount with 2 decimals")
    ccy = node.get("Ccy", "")
    if not re.fullmatch(r"[A-Z]{3}", ccy):
        raise StatementError(line, f"{where}: currency (Ccy) missing or wrong")
    return d, ccy


def _camt_date(c: _Camt, el, path: str, where: str, required: bool = True) -> date | None:  # type: ignore[no-untyped-def]
    node = c.find(el, path)
    if node is None:
        if required:
            raise StatementError(el.sourceline, f"{where}: {path.split('/')[0]} missing")
        return None
    raw = c.text(node, "Dt") or c.text(node, "DtTm")
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise StatementError(node.sourceline, f"{where}: {raw!r} is not a date") from None


def parse_camt053(content: bytes) -> Parsed:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as e:
        raise StatementError(e.lineno or 1, f"not well-formed XML ({e.msg})") from None
    ns = etree.QName(root).namespace or ""
    kind = CAMT_NS.match(ns)
    line = root.sourceline or 1
    if (
        kind
        and kind.group(1) == "054"
        or root.find(f"{{{ns}}}BkToCstmrDbtCdtNtfctn" if ns else "BkToCstmrDbtCdtNtfctn")
        is not None
    ):
        raise StatementError(
            line,
            "a camt.054 debit/credit notification, not an account statement: "
            "import the camt.053 statement of the day instead",
        )
    if kind and kind.group(1) == "052":
        raise StatementError(
            line, "a camt.052 intraday report, not a booked statement: import the camt.053 instead"
        )
    no_ns = not ns and etree.QName(root).localname == "Document"
    if (
        (not kind or kind.group(1) != "053")
        and not no_ns
        or etree.QName(root).localname != "Document"
    ):
        raise StatementError(line, f"not a camt.053 document (namespace {ns!r})")
    c = _Camt(ns)
    stmts = c.findall(root, "BkToCstmrStmt/Stmt")
    if not stmts:
        raise StatementError(root.sourceline or 1, "no statement (BkToCstmrStmt/Stmt)")
    entries: list[Entry] = []
    first_iban = ""
    for stmt in stmts:
        # Accounts outside IBAN countries are named by Othr/Id (a bank's own account number).
        iban = c.text(stmt, "Acct/Id/IBAN", "Acct/Id/Othr/Id").replace(" ", "")
        if not iban:
            raise StatementError(
                stmt.sourceline, "the statement has no account (Acct/Id/IBAN or Acct/Id/Othr/Id)"
            )
        first_iban = first_iban or iban
        balances: dict[str, tuple[Decimal, int]] = {}
        for bal in c.findall(stmt, "Bal"):
            code = c.text(bal, "Tp/CdOrPrtry/Cd")
            amt, _ = _camt_amount(c.find(bal, "Amt"), f"balance {code}")
            sign = -1 if c.text(bal, "CdtDbtInd") == "DBIT" else 1
            balances[code] = (sign * amt, bal.sourceline)
        net = Decimal(0)
        for n, ntry in enumerate(c.findall(stmt, "Ntry"), start=1):
            where = f"entry {n}"
            status = c.text(ntry, "Sts/Cd", "Sts")
            if status and status != "BOOK":
                continue  # pending or information only: not money on the account yet
            amount, ccy = _camt_amount(c.find(ntry, "Amt"), where)
            ind = c.text(ntry, "CdtDbtInd")
            if ind not in {"CRDT", "DBIT"}:
                raise StatementError(ntry.sourceline, f"{where}: CdtDbtInd must be CRDT or DBIT")
            credit = ind == "CRDT"
            net += amount if credit else -amount
            reversal = c.text(ntry, "RvslInd").lower() == "true"
            booked = _camt_date(c, ntry, "BookgDt", where)
            assert booked is not None
            valued = _camt_date(c, ntry, "ValDt", where, required=False)
            entry_ref = c.text(ntry, "AcctSvcrRef") or c.text(ntry, "NtryRef")
            txs = c.findall(ntry, "NtryDtls/TxDtls")
            if not txs:
                txs = [None]
            split = len(txs) > 1
            tx_total = Decimal(0)
            for i, tx in enumerate(txs, start=1):
                if tx is None:
                    tx_amount, e2e, name, payer_iban, text, reason, tx_ref = (
                        amount,
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                    )
                else:
                    amt_node = c.find(tx, "AmtDtls/TxAmt/Amt")
                    if amt_node is None:
                        amt_node = c.find(tx, "Amt")
                    tx_amount = (
                        _camt_amount(amt_node, f"{where}, transaction {i}")[0]
                        if amt_node is not None
                        else amount
                    )
                    e2e = c.text(tx, "Refs/EndToEndId")
                    if e2e == "NOTPROVIDED":
                        e2e = ""
                    tx_ref = c.text(tx, "Refs/AcctSvcrRef", "Refs/TxId")
                    party, acct = (
                        ("Cdtr", "CdtrAcct")
                        if not credit and not reversal
                        else ("Dbtr", "DbtrAcct")
                    )
                    name = c.text(tx, f"RltdPties/{party}/Nm", f"RltdPties/{party}/Pty/Nm")
                    payer_iban = c.text(tx, f"RltdPties/{acct}/Id/IBAN")
                    parts = [el.text.strip() for el in c.findall(tx, "RmtInf/Ustrd") if el.text]
                    parts += [
                        el.text.strip()
                        for el in c.findall(tx, "RmtInf/Strd/CdtrRefInf/Ref")
                        if el.text
                    ]
                    add = c.text(tx, "AddtlTxInf")
                    text = " ".join(parts + ([add] if add else []))
                    reason = " ".join(
                        x for x in (c.text(tx, "RtrInf/Rsn/Cd"), c.text(tx, "RtrInf/AddtlInf")) if x
                    )
                tx_total += tx_amount
                ref = entry_ref
                if split or not ref:
                    ref = f"{entry_ref}#{tx_ref or e2e or i}" if entry_ref else (tx_ref or e2e)
                entries.append(
                    Entry(
                        account_iban=iban,
                        booking_date=booked,
                        value_date=valued,
                        amount=tx_amount,
                        currency=ccy,
                        credit=credit,
                        reversal=reversal,
                        bank_reference=ref[:120],
                        end_to_end_id=e2e[:120],
                        payer_name=name[:200],
                        payer_iban=payer_iban.replace(" ", "")[:34],
                        remittance=text,
                        return_reason=reason[:200],
                        source_line=(tx.sourceline if tx is not None else ntry.sourceline) or 0,
                    )  # fmt: skip
                )
            if split and tx_total != amount:
                raise StatementError(
                    ntry.sourceline,
                    f"{where}: its transactions add up to {tx_total}, the entry says {amount}",
                )
        if "OPBD" in balances and "CLBD" in balances:
            opening, _ = balances["OPBD"]
            closing, line = balances["CLBD"]
            if opening + net != closing:
                raise StatementError(
                    line,
                    f"opening balance {opening} + entries {net} = {opening + net}, but the closing "
                    f"balance is {closing}: the file is incomplete or altered",
                )
    return Parsed("camt053", first_iban, entries)


# --- MT940 -------------------------------------------------------------------------------------

TAG_RE = re.compile(r"^:(\d{2}[A-Z]?|NS):")
BAL_RE = re.compile(r"^([CD])(\d{6})([A-Z]{3})(\d{1,20}(?:,\d{0,2})?)$")
# Only what the balance check needs; the rest of :61: is the library's to read.
LINE61_RE = re.compile(r"^(\d{6})(\d{4}|\s{4})?(R?[CD])([A-Z])?\n?(\d{1,15}(?:,\d{0,2})?)")
ENVELOPE_RE = re.compile(r"\{1:[^}]*\}(?:\{2:([^}]*)\})?(?:\{3:(?:\{[^}]*\})*\})?\{4:")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MT942_MESSAGE = (
    "an MT942 interim report (today's movements, not a booked statement): "
    "import the MT940 end-of-day statement instead"
)


def _mt_amount(raw: str) -> Decimal:
    return Decimal(raw.replace(",", ".") if "," in raw else raw)


def _mt_date(raw: str, line: int) -> date:
    try:
        return datetime.strptime(raw, "%y%m%d").date()  # noqa: DTZ007 - a calendar date, no time
    except ValueError:
        raise StatementError(line, f"{raw!r} is not a YYMMDD date") from None


def _unwrap(text: str) -> list[str]:
    """The text lines of the MT940 messages, SWIFT envelopes (``{1:…}{2:…}{4:`` … ``-}``) and
    control bytes taken out, tags that a bank indents moved back to the margin. Line numbers
    are kept (a removed envelope leaves an empty line) so errors point into the file."""
    out: list[str] = []
    for no, raw in enumerate(text.split("\n"), start=1):
        line = CONTROL_RE.sub("", raw.rstrip("\r"))
        env = ENVELOPE_RE.search(line)
        if env:
            kind = re.match(r"[IO](\d{3})", env.group(1) or "")
            if kind and kind.group(1) == "942":
                raise StatementError(no, MT942_MESSAGE)
            if kind and kind.group(1) not in {"940", "950"}:
                raise StatementError(
                    no, f"a SWIFT MT{kind.group(1)} message, not an MT940 statement"
                )
            line = line[env.end() :]
        stripped = line.strip()
        if stripped.startswith("-}") or stripped.startswith("{5:") or stripped == "-":
            line = ""
        elif TAG_RE.match(stripped):
            line = stripped
        out.append(line)
    return out


def _scan_mt940(lines: list[str]) -> list[dict]:
    """Check the tag structure and balances; per statement its :61: lines with their :86:."""
    statements: list[dict] = []
    cur: dict | None = None
    field = ""
    attached = False  # the :86: being read describes the last :61:
    for no, line in enumerate(lines, start=1):
        m = TAG_RE.match(line)
        if not m:
            if cur is None or not line.strip():
                continue  # header lines before the first :20: (":940:", "ABNANL2A 940")
            if field in {"28", "28C"}:
                lines[no - 1] = ""  # ING NL wraps the statement number ("0000" / "0"): one field
            elif field == "61" and cur["lines"]:
                cur["lines"][-1]["extra"].append(line)
            elif field == "86" and attached:
                cur["lines"][-1]["details"].append(line)
            continue
        tag, value = m.group(1), line[m.end() :].strip()
        prev, field, attached = field, tag, False
        if tag in {"34F", "13D", "90D", "90C"}:
            raise StatementError(no, MT942_MESSAGE)
        if tag == "20":
            cur = {"line": no, "id": value, "account": "", "seq": "", "opening": None,
                   "closing": None, "lines": [], "net": Decimal(0)}  # fmt: skip
            statements.append(cur)
            continue
        if cur is None:
            continue  # a tag before the first :20: is not part of a statement
        if tag == "25":
            cur["account"] = value
        elif tag in {"28", "28C"}:
            cur["seq"] = value
        elif tag in {"60F", "60M", "62F", "62M"}:
            b = BAL_RE.match(value.replace(" ", ""))
            if not b:
                raise StatementError(
                    no, f":{tag}: {value!r} is not D/C + YYMMDD + currency + amount"
                )
            _mt_date(b.group(2), no)
            amt = _mt_amount(b.group(4)) * (-1 if b.group(1) == "D" else 1)
            if tag.startswith("60") and cur["opening"] is None:
                cur["opening"] = amt
            elif tag.startswith("62"):
                cur["closing"] = (amt, no)
        elif tag == "61":
            t = LINE61_RE.match(value)
            if not t:
                raise StatementError(no, f":61: {value!r} is not a valid transaction line")
            _mt_date(t.group(1), no)
            amount = _mt_amount(t.group(5))
            credit = t.group(3) in {"C", "RD"}  # RD: reversal of a debit puts money back
            cur["net"] += amount if credit else -amount
            cur["lines"].append({"no": no, "extra": [], "details": []})
        elif tag == "86":
            # A :86: right after a :61: describes it; one after :62F:/:64: is about the account.
            if prev == "61" and cur["lines"]:
                attached = True
                cur["lines"][-1]["details"].append(value)
    if not statements:
        raise StatementError(1, "no :20: statement found: not an MT940 statement")
    for st in statements:
        if not st["account"]:
            raise StatementError(st["line"], "the statement has no :25: account")
        if st["opening"] is None or st["closing"] is None:
            raise StatementError(st["line"], "the statement lacks its :60F: or :62F: balance")
        closing, no = st["closing"]
        if st["opening"] + st["net"] != closing:
            raise StatementError(
                no,
                f"opening balance {st['opening']} + transactions {st['net']} = "
                f"{st['opening'] + st['net']}, but :62F: says {closing}: the file is incomplete or altered",
            )
    return statements


def parse_mt940(text: str) -> Parsed:
    import mt940

    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = _unwrap(text)
    scanned = _scan_mt940(lines)
    try:
        parsed = mt940.models.Transactions(
            processors={"pre_statement": [mt940.processors.date_fixup_pre_processor]}
        )
        parsed.parse("\n".join(lines))
    except Exception as e:  # the library raises bare exceptions on junk
        raise StatementError(1, f"MT940 not readable ({str(e).splitlines()[0][:200]})") from None
    txs = list(parsed)
    found = [(ln, st) for st in scanned for ln in st["lines"]]
    if len(txs) != len(found):
        raise StatementError(1, f"{len(found)} :61: lines but {len(txs)} transactions read")
    entries: list[Entry] = []
    first_iban = ""
    for tx, (ln, st) in zip(txs, found, strict=True):
        d = tx.data
        account = st["account"]
        iban = dialects.iban_in(account) or account.split("/")[-1].split()[0].strip()
        first_iban = first_iban or iban
        status = d["status"]
        credit = status in {"C", "RD"}
        reversal = status.startswith("R")
        det = dialects.read_86(ln["details"], account=iban, credit=credit)
        # The :61: supplementary line carries the counterparty where :86: does not (BCR, BRD).
        extra = " ".join(x.strip() for x in ln["extra"] if x.strip())
        name = det.payer_name or (extra if extra and not det.remittance else "")
        ref = (d.get("bank_reference") or "").strip()
        cust = (d.get("customer_reference") or "").strip()
        if not ref or ref == "NONREF":
            ref = cust if cust and cust not in {"NONREF", "."} else det.reference
        booked = d.get("entry_date") or d["date"]
        entries.append(
            Entry(
                account_iban=iban[:34],
                booking_date=date(booked.year, booked.month, booked.day),
                value_date=date(d["date"].year, d["date"].month, d["date"].day),
                amount=abs(Decimal(d["amount"].amount)),
                currency=d["amount"].currency or "",
                credit=credit,
                reversal=reversal,
                bank_reference=ref[:120],
                end_to_end_id=det.end_to_end_id[:120],
                payer_name=name[:200],
                payer_iban=det.payer_iban[:34],
                remittance=det.remittance or extra,
                return_reason="",
                source_line=ln["no"],
            )  # fmt: skip
        )
    return Parsed("mt940", first_iban, entries)
