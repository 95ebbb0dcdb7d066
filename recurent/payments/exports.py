"""CSV exports of internet banking, for businesses that have no MT940/CAMT.053 statement.

Two layouts, as public parsers of these exports describe them (no real file of either bank is
in ../shared; the tests use files written to these layouts):

- Banca Transilvania (BT24 / BT Go, "Cautare tranzactii" → CSV): a few lines about the account,
  then ``Data tranzactie,Data valuta,Descriere,Referinta tranzactiei,Debit,Credit,Sold contabil``,
  ISO dates, ``1234.56`` amounts, a closing ``Gasit/e: N`` line. ``Descriere`` is the same text
  as BT's MT940 ``:86:`` (``dialects``: payer name and IBAN before ``REF:``). The running balance
  is checked line by line, like an MT940's balances.
- ING Romania (Home'Bank → CSV): a header with ``Data``, ``Detalii tranzactie``, ``Debit`` and
  ``Credit``; a transaction is a row with its date (``05 februarie 2026``) and amount
  (``1.234,56``) followed by rows without a date: ``Ordonator:``, ``Din contul:``,
  ``Detalii:``, ``Referinta:``.

A file is read whole or refused with the line and the reason, like the other formats.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal, InvalidOperation

from . import dialects
from .statements import Entry, Parsed, StatementError

BT_HEADER = ["data tranzactie", "data valuta", "descriere", "referinta tranzactiei", "debit",
             "credit", "sold contabil"]  # fmt: skip
MONTHS = {m: i for i, m in enumerate(
    ["ianuarie", "februarie", "martie", "aprilie", "mai", "iunie", "iulie", "august",
     "septembrie", "octombrie", "noiembrie", "decembrie"], start=1)}  # fmt: skip


def _rows(text: str) -> list[list[str]]:
    sample = "\n".join(text.splitlines()[:30])
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text), dialect)]


def _norm(cell: str) -> str:
    return " ".join(cell.lower().replace("ţ", "t").replace("ț", "t").split())


def kind_of(text: str) -> str:
    """``bt``, ``ing`` or "" for a text that is neither export."""
    for row in _rows(text)[:40]:
        cells = [_norm(c) for c in row]
        if cells[: len(BT_HEADER)] == BT_HEADER:
            return "bt"
        if "data" in cells and "detalii tranzactie" in cells and "credit" in cells:
            return "ing"
    return ""


def _amount(raw: str, line: int, decimal_comma: bool) -> Decimal:
    raw = raw.replace(" ", "").replace("\u00a0", "")
    if decimal_comma:
        raw = raw.replace(".", "").replace(",", ".")
    else:
        raw = raw.replace(",", "")
    try:
        d = Decimal(raw)
    except InvalidOperation:
        raise StatementError(line, f"{raw!r} is not an amount") from None
    if d != d.quantize(Decimal("0.01")):
        raise StatementError(line, f"{raw!r} is not an amount with 2 decimals")
    return d


def _account(rows: list[list[str]]) -> str:
    for row in rows:
        found = dialects.iban_in(" ".join(row))
        if found:
            return found
    return ""


def parse_bt(text: str) -> Parsed:
    rows = _rows(text)
    at = next(i for i, r in enumerate(rows) if [_norm(c) for c in r][: len(BT_HEADER)] == BT_HEADER)
    account = _account(rows[:at])
    if not account:
        raise StatementError(1, "the export does not name the account (its IBAN above the table)")
    currency = next(
        (
            m.group(1)
            for r in rows[:at]
            for m in [re.search(r"\b(RON|EUR|USD|GBP|CHF)\b", " ".join(r))]
            if m
        ),
        "RON",
    )
    entries: list[Entry] = []
    balance: Decimal | None = None
    for no, row in enumerate(rows[at + 1 :], start=at + 2):
        if not row or not any(row) or _norm(row[0]).startswith("gasit"):
            continue
        if len(row) < 7:
            raise StatementError(no, f"{len(row)} columns, the header has 7")
        try:
            booked = date.fromisoformat(row[0])
            valued = date.fromisoformat(row[1]) if row[1] else None
        except ValueError:
            raise StatementError(no, f"{row[0]!r} is not a date (YYYY-MM-DD)") from None
        debit = abs(_amount(row[4], no, False)) if row[4] else Decimal(0)
        credit = abs(_amount(row[5], no, False)) if row[5] else Decimal(0)
        if (debit > 0) == (credit > 0):
            raise StatementError(no, "a line has either a debit or a credit")
        after = _amount(row[6], no, False) if row[6] else None
        if balance is not None and after is not None and balance + credit - debit != after:
            raise StatementError(
                no,
                f"balance {balance} + {credit - debit} = {balance + credit - debit}, but the "
                f"line says {after}: the file is incomplete or altered",
            )
        balance = after if after is not None else balance
        det = dialects.read_86([row[2]], account=account, credit=credit > 0)
        entries.append(
            Entry(
                account_iban=account,
                booking_date=booked,
                value_date=valued,
                amount=credit or debit,
                currency=currency,
                credit=credit > 0,
                reversal=False,
                bank_reference=row[3][:120] or det.reference,
                end_to_end_id=det.end_to_end_id,
                payer_name=det.payer_name[:200],
                payer_iban=det.payer_iban[:34],
                remittance=det.remittance or row[2],
                return_reason="",
                source_line=no,
            )  # fmt: skip
        )
    return Parsed("csv-bt", account, entries)


def _ro_date(raw: str, line: int) -> date:
    m = re.fullmatch(r"(\d{1,2})\s+([a-zA-Z]+)\s+(\d{4})", raw.strip())
    month = MONTHS.get(m.group(2).lower()) if m else None
    if not m or not month:
        raise StatementError(line, f"{raw!r} is not a date (e.g. 05 februarie 2026)")
    try:
        return date(int(m.group(3)), month, int(m.group(1)))
    except ValueError:
        raise StatementError(line, f"{raw!r} is not a date") from None


def parse_ing(text: str) -> Parsed:
    rows = _rows(text)
    at = next(
        i for i, r in enumerate(rows)
        if "detalii tranzactie" in [_norm(c) for c in r] and "credit" in [_norm(c) for c in r]
    )  # fmt: skip
    head = [_norm(c) for c in rows[at]]
    col_date, col_det = head.index("data"), head.index("detalii tranzactie")
    col_debit, col_credit = head.index("debit"), head.index("credit")
    account = _account(rows[:at])
    if not account:
        raise StatementError(1, "the export does not name the account (its IBAN above the table)")
    found: list[dict] = []
    for no, row in enumerate(rows[at + 1 :], start=at + 2):
        cells = row + [""] * (max(col_date, col_det, col_debit, col_credit) + 1 - len(row))
        if not any(cells):
            continue
        if cells[col_date]:
            if _norm(cells[col_date]).startswith(("sold", "total")):
                continue
            booked = _ro_date(cells[col_date], no)
            debit = _amount(cells[col_debit], no, True) if cells[col_debit] else Decimal(0)
            credit = _amount(cells[col_credit], no, True) if cells[col_credit] else Decimal(0)
            if (debit > 0) == (credit > 0):
                raise StatementError(no, "a line has either a debit or a credit")
            found.append({"no": no, "date": booked, "debit": debit, "credit": credit,
                          "kind": cells[col_det], "more": []})  # fmt: skip
        elif found:
            found[-1]["more"].append(" ".join(c for c in cells if c))
        else:
            raise StatementError(no, "details before the first dated line")
    entries = []
    for t in found:
        fields: dict[str, str] = {}
        for text_line in t["more"]:
            key, _, value = text_line.partition(":")
            fields[_norm(key)] = value.strip()
        credit = t["credit"] > 0
        name = fields.get("ordonator" if credit else "beneficiar", "")
        iban_text = fields.get("din contul" if credit else "in contul", "")
        entries.append(
            Entry(
                account_iban=account,
                booking_date=t["date"],
                value_date=t["date"],
                amount=t["credit"] or t["debit"],
                currency="RON",
                credit=credit,
                reversal=False,
                bank_reference=fields.get("referinta", "")[:120],
                end_to_end_id="",
                payer_name=name[:200],
                payer_iban=dialects.iban_in(iban_text, account)[:34],
                remittance=fields.get("detalii", "") or " ".join(t["more"]),
                return_reason="",
                source_line=t["no"],
            )  # fmt: skip
        )
    return Parsed("csv-ing", account, entries)


def parse_export(text: str) -> Parsed:
    kind = kind_of(text)
    if kind == "bt":
        return parse_bt(text)
    if kind == "ing":
        return parse_ing(text)
    raise StatementError(
        1, "neither a CAMT.053 XML file, an MT940 statement nor a BT/ING CSV export"
    )
