"""Bank statement parsers: CAMT.053 (ISO 20022, lxml) and MT940 (the ``mt-940`` package).

Both produce the same ``Entry`` list. A file is checked whole before anything is written: a
syntax error, a missing field, a bad amount or balances that do not add up (a truncated or
edited file) raise ``StatementError`` with the line of the file and the reason.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from lxml import etree

CAMT_NS = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.(\d\d)$")
IBAN_RE = re.compile(r"(?<![A-Z0-9])([A-Z]{2}\d{2}[A-Z0-9]{11,40})")
EREF_RE = re.compile(r"(?:EREF\+|/EREF/|EndToEndId[:\s]*)\s*([A-Za-z0-9./\-]{1,35})")


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


def _iban(text: str) -> str:
    from stdnum import iban

    for m in IBAN_RE.finditer((text or "").upper().replace(" ", "")):
        cand = m.group(1)
        # Exports glue the name to the account ("RO21INGB...4567GAMA SRL"): try shorter prefixes.
        for n in range(min(len(cand), 34), 14, -1):
            if iban.is_valid(cand[:n]):
                return cand[:n]
    return ""


def _fallback_ref(*parts: object) -> str:
    # No bank reference at all: a digest of the entry keeps re-imports idempotent.
    return "H" + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:32]


def parse(content: bytes, filename: str = "") -> Parsed:
    head = content.lstrip()[:200]
    if head.startswith(b"<"):
        return parse_camt053(content)
    text = _decode(content)
    if ":20:" in text and ":61:" in text or ":25:" in text:
        return parse_mt940(text)
    raise StatementError(1, "neither a CAMT.053 XML file nor an MT940 statement")


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
    if not CAMT_NS.match(ns) or etree.QName(root).localname != "Document":
        raise StatementError(root.sourceline or 1, f"not a camt.053 document (namespace {ns!r})")
    c = _Camt(ns)
    stmts = c.findall(root, "BkToCstmrStmt/Stmt")
    if not stmts:
        raise StatementError(root.sourceline or 1, "no statement (BkToCstmrStmt/Stmt)")
    entries: list[Entry] = []
    first_iban = ""
    for stmt in stmts:
        iban = c.text(stmt, "Acct/Id/IBAN")
        if not iban:
            raise StatementError(
                stmt.sourceline, "the statement has no account IBAN (Acct/Id/IBAN)"
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
                if not ref:
                    ref = _fallback_ref(iban, booked, tx_amount, ind, name, text, i)
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

TAG_RE = re.compile(r"^:(\d{2}[A-Z]?):")
BAL_RE = re.compile(r"^([CD])(\d{6})([A-Z]{3})(\d{1,15},\d{0,2})$")
LINE61_RE = re.compile(
    r"^(\d{6})(\d{4})?(R?[CD])([A-Z])?(\d{1,15},\d{0,2})([A-Z][A-Z0-9]{3})([^/]{0,16})(?://(.{0,16}))?"
)


def _mt_amount(raw: str) -> Decimal:
    return Decimal(raw.replace(",", "."))


def _mt_date(raw: str, line: int) -> date:
    try:
        return datetime.strptime(raw, "%y%m%d").date()  # noqa: DTZ007 - a calendar date, no time
    except ValueError:
        raise StatementError(line, f"{raw!r} is not a YYMMDD date") from None


def _scan_mt940(text: str) -> list[dict]:
    """Check the tag structure and balances; return per statement the :61: lines' numbers."""
    statements: list[dict] = []
    cur: dict | None = None
    lines = text.splitlines()
    for no, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r")
        m = TAG_RE.match(line)
        if not m:
            if line.startswith("-}") or line.startswith("{") or line.strip() in {"", "-"}:
                continue
            if cur is None:
                raise StatementError(no, "text before the first :20: tag")
            continue  # continuation of :86: or another multi-line field
        tag, value = m.group(1), line[m.end() :].strip()
        if tag == "20":
            cur = {
                "line": no,
                "account": "",
                "opening": None,
                "closing": None,
                "lines": [],
                "net": Decimal(0),
            }
            statements.append(cur)
            continue
        if cur is None:
            raise StatementError(no, f":{tag}: before the first :20: tag")
        if tag == "25":
            cur["account"] = value
        elif tag in {"60F", "60M", "62F", "62M"}:
            b = BAL_RE.match(value)
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
            mark = t.group(3)
            credit = mark in {"C", "RD"}  # RD: reversal of a debit puts money back
            cur["net"] += amount if credit else -amount
            cur["lines"].append(no)
    if not statements:
        raise StatementError(1, "no :20: statement found")
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


def _subfields(details: str) -> dict[str, str]:
    """:86: in the structured ?NN layout (BCR, ING, many German-style exports)."""
    out: dict[str, str] = {}
    for m in re.finditer(r"\?(\d\d)([^?]*)", details.replace("\r", "").replace("\n", "")):
        out[m.group(1)] = out.get(m.group(1), "") + m.group(2)
    return out


def parse_mt940(text: str) -> Parsed:
    import mt940

    text = text.replace("\r\n", "\n").replace("\r", "\n")
    scanned = _scan_mt940(text)
    try:
        parsed = mt940.models.Transactions(
            processors={"pre_statement": [mt940.processors.date_fixup_pre_processor]}
        )
        parsed.parse(text)
    except Exception as e:  # the library raises bare exceptions on junk
        raise StatementError(1, f"MT940 not readable ({e})") from None
    txs = list(parsed)
    line_nos = [(no, st["account"]) for st in scanned for no in st["lines"]]
    if len(txs) != len(line_nos):
        raise StatementError(1, f"{len(line_nos)} :61: lines but {len(txs)} transactions read")
    entries: list[Entry] = []
    first_iban = ""
    for tx, (no, account) in zip(txs, line_nos, strict=True):
        d = tx.data
        iban = _iban(account) or account.split("/")[-1].strip()
        first_iban = first_iban or iban
        status = d["status"]
        credit = status in {"C", "RD"}
        reversal = status.startswith("R")
        details = d.get("transaction_details") or ""
        if d.get("purpose") is not None or d.get("posting_text") is not None:
            # The library already split a structured :86: (?20 purpose, ?31 account, ?32 name...).
            remittance = " ".join(
                x for x in (d.get("purpose"), d.get("additional_purpose")) if x
            ) or (d.get("posting_text") or "")
            applicant = d.get("applicant_name") or ""
            payer_iban = (
                _iban(d.get("gvc_applicant_iban") or "")
                or _iban(d.get("applicant_iban") or "")
                or _iban(applicant)
            )
            name = applicant.replace(payer_iban, "").strip() if payer_iban else applicant.strip()
            e2e = d.get("end_to_end_reference") or ""
            reason = d.get("return_debit_notes") or ""
        else:
            sub = _subfields(details)
            if sub:
                remittance = " ".join(sub[k] for k in map(str, range(20, 30)) if sub.get(k))
                name = (sub.get("32", "") + sub.get("33", "")).strip()
                payer_iban = _iban(sub.get("31", "")) or _iban(details)
            else:
                remittance = " ".join(details.split())
                name = ""
                payer_iban = _iban(details)
            eref = EREF_RE.search(remittance)
            e2e = eref.group(1) if eref else ""
            reason = ""
        if e2e == "NOTPROVIDED":
            e2e = ""
        ref = (d.get("bank_reference") or "").strip()
        cust = (d.get("customer_reference") or "").strip()
        if not ref or ref == "NONREF":
            ref = cust if cust and cust != "NONREF" else ""
        booked = d.get("entry_date") or d["date"]
        amount = abs(Decimal(d["amount"].amount))
        if not ref:
            ref = _fallback_ref(iban, booked, amount, status, details)
        entries.append(
            Entry(
                account_iban=iban[:34],
                booking_date=date(booked.year, booked.month, booked.day),
                value_date=date(d["date"].year, d["date"].month, d["date"].day),
                amount=amount,
                currency=d["amount"].currency,
                credit=credit,
                reversal=reversal,
                bank_reference=ref[:120],
                end_to_end_id=e2e[:120],
                payer_name=name[:200],
                payer_iban=payer_iban,
                remittance=remittance,
                return_reason=reason,
                source_line=no,
            )  # fmt: skip
        )
    return Parsed("mt940", first_iban, entries)
