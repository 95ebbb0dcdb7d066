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
import zipfile
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Protocol

from . import dialects
from .statements import Entry, Parsed, StatementError


class ColumnMappingLike(Protocol):
    account_iban: str
    currency: str
    date_column: str
    amount_column: str
    credit_column: str
    debit_column: str
    details_column: str
    payer_column: str
    payer_iban_column: str
    reference_column: str
    date_format: str
    decimal_comma: bool


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


def parse_mapped(text: str, m: ColumnMappingLike) -> Parsed:
    """A CSV export read with an account's saved columns (``models.ColumnMapping``)."""
    rows = _rows(text)
    want = _norm(m.date_column)
    at = next((i for i, r in enumerate(rows) if want in [_norm(c) for c in r]), None)
    if at is None:
        raise StatementError(1, f"no header row with the column {m.date_column!r}")
    head = [_norm(c) for c in rows[at]]

    def col(name: str) -> int | None:
        if not name:
            return None
        if _norm(name) not in head:
            raise StatementError(at + 1, f"the header has no column {name!r}")
        return head.index(_norm(name))

    c_date, c_det = col(m.date_column), col(m.details_column)
    c_amount, c_credit, c_debit = col(m.amount_column), col(m.credit_column), col(m.debit_column)
    c_payer, c_iban, c_ref = col(m.payer_column), col(m.payer_iban_column), col(m.reference_column)
    assert c_date is not None and c_det is not None
    entries: list[Entry] = []
    for no, row in enumerate(rows[at + 1 :], start=at + 2):
        if not any(row):
            continue
        cell = {k: (row[i] if i is not None and i < len(row) else "") for k, i in
                (("date", c_date), ("det", c_det), ("amount", c_amount), ("credit", c_credit),
                 ("debit", c_debit), ("payer", c_payer), ("iban", c_iban), ("ref", c_ref))}  # fmt: skip
        if not cell["date"]:
            continue  # totals and notes under the table
        try:
            booked = datetime.strptime(cell["date"], m.date_format).date()  # noqa: DTZ007
        except ValueError:
            raise StatementError(no, f"{cell['date']!r} is not a date ({m.date_format})") from None
        if c_amount is not None:
            signed = _amount(cell["amount"], no, m.decimal_comma)
        else:
            credit = _amount(cell["credit"], no, m.decimal_comma) if cell["credit"] else Decimal(0)
            debit = _amount(cell["debit"], no, m.decimal_comma) if cell["debit"] else Decimal(0)
            signed = abs(credit) - abs(debit)
        if signed == 0:
            raise StatementError(no, "the line has no amount")
        det = dialects.read_86([cell["det"]], account=m.account_iban, credit=signed > 0)
        entries.append(
            Entry(
                account_iban=m.account_iban,
                booking_date=booked,
                value_date=booked,
                amount=abs(signed),
                currency=m.currency,
                credit=signed > 0,
                reversal=False,
                bank_reference=(cell["ref"] or det.reference)[:120],
                end_to_end_id=det.end_to_end_id,
                payer_name=(cell["payer"] or det.payer_name)[:200],
                payer_iban=(dialects.iban_in(cell["iban"]) or det.payer_iban)[:34],
                remittance=cell["det"],
                return_reason="",
                source_line=no,
            )  # fmt: skip
        )
    return Parsed("csv", m.account_iban, entries)


# --- XLSX ------------------------------------------------------------------------------------

XLSX_LIMITS_MB = 20


def is_xlsx(content: bytes) -> bool:
    return (
        content[:4] == b"PK\x03\x04" and b"xl/workbook.xml" in content[:20_000] + content[-20_000:]
    )


def _xlsx_rows(content: bytes) -> list[list[object]]:
    """The first sheet's cells. The archive is unpacked through safezip's limits first (an .xlsx
    is a ZIP: a small file could inflate to gigabytes), then read by openpyxl from that copy."""
    from openpyxl import load_workbook

    from recurent.common.safezip import ArchiveRefused, Limits, open_zip

    limits = Limits(max_member=XLSX_LIMITS_MB << 20, max_total=XLSX_LIMITS_MB << 20)
    try:
        with open_zip(content, limits) as z:
            members = {name: z.read(name) for name in z.namelist()}
    except ArchiveRefused as e:
        raise StatementError(1, str(e)) from None
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for name, data in members.items():
            out.writestr(name, data)
    try:
        wb = load_workbook(buf, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds on a damaged workbook
        raise StatementError(1, f"not a readable XLSX workbook ({type(e).__name__})") from None
    ws = wb.worksheets[0]
    return [list(row) for row in ws.iter_rows(values_only=True)]


def _cell_text(value: object, *, decimal_comma: bool, ro_dates: bool, date_format: str) -> str:
    """A cell as the bank's CSV export writes it, so the CSV readers above read the workbook."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        if ro_dates:
            return f"{value.day:02d} {list(MONTHS)[value.month - 1]} {value.year}"
        return value.strftime(date_format)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) and abs(value) >= 10**7:
        return str(value)  # a long whole number is a reference or an account, not an amount
    if isinstance(value, int | float | Decimal):
        # Amounts with their two decimals, as the CSV writes them (1000.00, not 1000): the entry's
        # identity (a digest of what it says) is then the same from the XLSX and from the CSV.
        text = f"{Decimal(str(value)):.2f}"
        return text.replace(".", ",") if decimal_comma else text
    return str(value)


def xlsx_to_text(content: bytes, mapping: ColumnMappingLike | None = None) -> str:
    """An internet-banking XLSX export as the text of its CSV twin: dates and amounts written
    the way that bank's CSV writes them (BT: ISO dates, 1234.56; ING: "05 februarie 2026",
    1234,56; another bank: its saved column mapping's date format and decimal mark)."""
    rows = _xlsx_rows(content)
    as_text = [[_cell_text(c, decimal_comma=False, ro_dates=False, date_format="%Y-%m-%d")
                for c in r] for r in rows]  # fmt: skip
    buf = io.StringIO()
    csv.writer(buf, delimiter=";").writerows(as_text)
    kind = "" if mapping is not None else kind_of(buf.getvalue())
    if kind == "bt":
        return buf.getvalue()
    if kind == "ing":
        fmt = {"decimal_comma": True, "ro_dates": True, "date_format": ""}
    elif mapping is not None:
        fmt = {"decimal_comma": bool(mapping.decimal_comma), "ro_dates": False,
               "date_format": mapping.date_format or "%Y-%m-%d"}  # fmt: skip
    else:
        return buf.getvalue()  # no known layout: parse() says so
    buf = io.StringIO()
    csv.writer(buf, delimiter=";").writerows(
        [[_cell_text(c, **fmt) for c in r] for r in rows]  # type: ignore[arg-type]
    )
    return buf.getvalue()
