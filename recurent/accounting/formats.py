"""The files accounting programs import, written from the journal rows.

Saga C — its "Diverse → Import date" screen reads XML (Saga's own help, section "Import date";
the layout is recorded in docs/decisions/0005-accounting-exports.md):
- invoices: ``F_<seller CIF>_<number>_<date>.xml`` with ``<Facturi><Factura><Antet>…<Detalii>
  <Continut><Linie>…``, one file per invoice; Saga routes a file to "Ieșiri" when the company's
  CIF is in ``FurnizorCIF`` (digits, without RO: as Saga's own company settings keep it);
- receipts: ``I_<date>.xml`` with ``<Incasari><Linie>`` (Data, Numar, Suma, Cont, ContClient,
  Explicatie, FacturaID, FacturaNumar, CodFiscal, Moneda);
- clients: ``CLI_<date>.xml`` with ``<Clienti><Linie>`` (Cod, Denumire, Cod_fiscal, …); Saga
  matches clients by ``Cod``, so the code is Recurent's client id, stable for ever.

WinMENTOR — its text import of invoices ("Structura fisier import facturi"): an INI-like file with
``[InfoPachet]``, then ``[Factura_N]`` and ``[Items_N]`` with ``Item_K=cod;UM;cantitate;pret;
gestiune;discount;cont`` (the 7th field is the account of a service item), in Windows-1250.
Partners go as a CSV with the fields WinMENTOR's partner screen asks for.

Generic journal — CSV (semicolon, UTF-8 with BOM) or XLSX, one row per invoice line.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree

from recurent.common.csvsafe import safe_row, xlsx_append

from .journal import Accounts, JournalRow

ZIP_DATE = (2026, 1, 1, 0, 0, 0)  # fixed member times: the same export gives the same bytes


@dataclass(frozen=True)
class Receipt:
    """One payment (or the part of it that paid one invoice), as an accounting program books it."""

    payment_id: int
    date: date
    number: str
    amount: Decimal
    currency: str
    method: str
    client_id: int
    client_name: str
    client_tax_id: str
    invoice_id: int | None
    invoice_number: str
    explanation: str


@dataclass(frozen=True)
class Party:
    client_id: int
    name: str
    tax_id: str
    trade_register: str
    country: str
    county: str
    city: str
    street: str
    iban: str
    bank: str
    email: str
    kind: str


def digits_only(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def client_code(client_id: int) -> str:
    return f"{client_id:05d}"


def _d(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def _n(value: Decimal, places: int = 2) -> str:
    return f"{value:.{places}f}"


def _qty(value: Decimal) -> str:
    return _n(value.normalize() if value == value.to_integral() else value, 3)


def rate_text(value: Decimal | None) -> str:
    """A BNR rate as published (5.0975), without the stored trailing zeros."""
    return "" if value is None else format(value.normalize(), "f")


def _xml(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _sub(parent: etree._Element, tag: str, text: Any = "") -> etree._Element:
    el = etree.SubElement(parent, tag)
    el.text = "" if text is None else str(text)
    return el


def zip_files(files: Iterable[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


# --- Saga ---------------------------------------------------------------------------------


def _saga_tax_id(tax_id: str) -> str:
    # Saga adds the "RO" attribute itself for a VAT payer; a partner's code is written as the
    # invoice shows it (RO prefix kept), a foreign one as it is.
    return (tax_id or "").replace(" ", "").upper()


def saga_invoice(rows: list[JournalRow], seller: dict[str, Any], buyer: dict[str, Any]) -> bytes:
    first = rows[0]
    root = etree.Element("Facturi")
    f = etree.SubElement(root, "Factura")
    a = etree.SubElement(f, "Antet")
    _sub(a, "FurnizorNume", seller.get("name"))
    _sub(a, "FurnizorCIF", digits_only(seller.get("cui") or ""))
    _sub(a, "FurnizorNrRegCom", seller.get("trade_register"))
    _sub(a, "FurnizorCapital", seller.get("share_capital"))
    _sub(a, "FurnizorTara", seller.get("country") or "RO")
    _sub(a, "FurnizorLocalitate", seller.get("city"))
    _sub(a, "FurnizorJudet", seller.get("county"))
    _sub(a, "FurnizorAdresa", seller.get("street"))
    _sub(a, "FurnizorTelefon", seller.get("phone"))
    _sub(a, "FurnizorMail", seller.get("email"))
    _sub(a, "FurnizorBanca", seller.get("bank"))
    _sub(a, "FurnizorIBAN", seller.get("iban"))
    _sub(a, "FurnizorInformatiiSuplimentare", "")
    _sub(a, "ClientNume", first.client_name)
    _sub(a, "ClientInformatiiSuplimentare", "")
    _sub(a, "ClientCIF", _saga_tax_id(first.client_tax_id))
    _sub(a, "ClientNrRegCom", buyer.get("trade_register"))
    _sub(a, "ClientJudet", buyer.get("county"))
    _sub(a, "ClientTara", first.client_country)
    _sub(a, "ClientLocalitate", buyer.get("city"))
    _sub(a, "ClientAdresa", buyer.get("street"))
    _sub(a, "ClientBanca", buyer.get("bank"))
    _sub(a, "ClientIBAN", buyer.get("iban"))
    _sub(a, "ClientTelefon", "")
    _sub(a, "ClientMail", ", ".join(buyer.get("emails") or []))
    _sub(a, "FacturaNumar", first.full_number)
    _sub(a, "FacturaData", _d(first.issue_date))
    _sub(a, "FacturaScadenta", _d(first.due_date))
    reverse = any(r.vat_category == "AE" for r in rows)
    _sub(a, "FacturaTaxareInversa", "Da" if reverse else "Nu")
    _sub(a, "FacturaTVAIncasare", "Da" if first.vat_on_collection else "Nu")
    _sub(a, "FacturaTip", "")
    _sub(a, "FacturaInformatiiSuplimentare", "")
    _sub(a, "FacturaMoneda", first.currency)
    _sub(a, "FacturaGreutate", "0.000")
    _sub(a, "FacturaIndexSPV", first.efactura_index)
    _sub(a, "Cod", client_code(first.client_id))
    c = etree.SubElement(etree.SubElement(f, "Detalii"), "Continut")
    for r in rows:
        li = etree.SubElement(c, "Linie")
        _sub(li, "LinieNrCrt", r.position)
        _sub(li, "Descriere", r.name)
        _sub(li, "CodArticolFurnizor", r.product_code)
        _sub(li, "UM", r.unit)
        _sub(li, "Cantitate", _qty(r.quantity))
        _sub(li, "Pret", _n(r.unit_price, 4))
        _sub(li, "Valoare", _n(r.net))
        _sub(li, "ProcTVA", _n(r.vat_rate).rstrip("0").rstrip("."))
        _sub(li, "TVA", _n(r.vat))
        _sub(li, "Cont", r.revenue_account)
    _sub(f, "FacturaID", f"recurent-{first.invoice_id}")
    return _xml(root)


def saga_invoice_name(row: JournalRow, seller_cui: str) -> str:
    number = row.full_number.replace("/", "-")
    return f"F_{digits_only(seller_cui)}_{number}_{row.issue_date:%d-%m-%Y}.xml"


def saga_receipts(receipts: list[Receipt], acc: Accounts) -> bytes:
    root = etree.Element("Incasari")
    for r in receipts:
        li = etree.SubElement(root, "Linie")
        _sub(li, "Data", _d(r.date))
        _sub(li, "Numar", r.number)
        _sub(li, "Suma", _n(r.amount))
        _sub(li, "Cont", treasury_account(r.method, acc))
        _sub(li, "ContClient", acc.client)
        _sub(li, "Explicatie", r.explanation[:60])
        _sub(li, "FacturaID", f"recurent-{r.invoice_id}" if r.invoice_id else "")
        _sub(li, "FacturaNumar", r.invoice_number)
        _sub(li, "CodFiscal", r.client_tax_id)
        _sub(li, "Moneda", r.currency)
    return _xml(root)


def saga_clients(parties: list[Party]) -> bytes:
    root = etree.Element("Clienti")
    for p in parties:
        li = etree.SubElement(root, "Linie")
        _sub(li, "Cod", client_code(p.client_id))
        _sub(li, "Denumire", p.name)
        _sub(li, "Cod_fiscal", p.tax_id)
        _sub(li, "Reg_com", p.trade_register)
        _sub(li, "Tara", p.country)
        _sub(li, "Judet", p.county)
        _sub(li, "Localitate", p.city)
        _sub(li, "Adresa", p.street)
        _sub(li, "Cont_banca", p.iban)
        _sub(li, "Banca", p.bank)
        _sub(li, "Email", p.email)
    return _xml(root)


def treasury_account(method: str, acc: Accounts) -> str:
    return {"cash": acc.cash, "card": acc.card}.get(method, acc.bank)


def by_invoice(rows: Iterable[JournalRow]) -> dict[int, list[JournalRow]]:
    out: dict[int, list[JournalRow]] = defaultdict(list)
    for r in rows:
        out[r.invoice_id].append(r)
    return out


# --- WinMENTOR ----------------------------------------------------------------------------

# WinMENTOR reads Windows-1250, which has the cedilla forms of ș and ț only.
_CP1250 = str.maketrans({"ș": "ş", "Ș": "Ş", "ț": "ţ", "Ț": "Ţ"})


def _cp1250(text: str) -> bytes:
    return text.translate(_CP1250).encode("cp1250", errors="replace")


def _ini(value: Any) -> str:
    # One line per key: a newline inside a value would start a new key.
    return " ".join(str(value or "").split())


def winmentor_invoices(invoices: list[list[JournalRow]], year: int, month: int) -> bytes:
    out = [
        "[InfoPachet]", f"AnLucru={year}", f"LunaLucru={month}", "TipDocument=FACTURA IESIRE",
        f"TotalFacturi={len(invoices)}", "",
    ]  # fmt: skip
    for i, rows in enumerate(invoices, start=1):
        r0 = rows[0]
        out += [
            f"[Factura_{i}]", f"NrDoc={r0.number}", f"SerieCarnet={_ini(r0.series)}",
            f"Data={_d(r0.issue_date)}", f"Scadenta={_d(r0.due_date)}",
            f"CodClient={_ini(r0.client_tax_id or client_code(r0.client_id))}",
            f"TVAINCASARE={'D' if r0.vat_on_collection else 'N'}", f"Moneda={r0.currency}",
            f"Curs={rate_text(r0.fx_rate)}", f"Observatii={_ini(r0.full_number)}",
            f"TotalArticole={len(rows)}", "", f"[Items_{i}]",
        ]  # fmt: skip
        for k, r in enumerate(rows, start=1):
            fields = [r.product_code or r.name[:20], r.unit, _qty(r.quantity),
                      _n(r.unit_price, 4), "", "", r.revenue_account]  # fmt: skip
            out.append(f"Item_{k}=" + ";".join(_ini(x).replace(";", ",") for x in fields) + ";")
            out.append(f"Item_{k}_TVA={_n(r.vat)}")
        out.append("")
    return _cp1250("\r\n".join(out))


def winmentor_partners(parties: list[Party]) -> bytes:
    return table_csv(
        ["Cod", "Denumire", "CodFiscal", "RegCom", "Tara", "Judet", "Localitate", "Adresa",
         "Banca", "IBAN", "Email", "PersoanaFizica"],
        [[client_code(p.client_id), p.name, p.tax_id, p.trade_register, p.country, p.county,
          p.city, p.street, p.bank, p.iban, p.email, "D" if p.kind == "individual" else "N"]
         for p in parties],
    )  # fmt: skip


# --- the generic journal ------------------------------------------------------------------

JOURNAL_HEADER = [
    "series", "number", "document", "kind", "issue_date", "due_date", "client_code", "client",
    "client_tax_id", "country", "line", "product_code", "description", "unit", "quantity",
    "unit_price", "vat_category", "vat_rate", "net", "vat", "gross", "currency", "fx_rate",
    "net_ron", "vat_ron", "gross_ron", "client_account", "revenue_account", "vat_account",
    "vat_on_collection", "efactura_index",
]  # fmt: skip


def journal_values(r: JournalRow) -> list[Any]:
    return [
        r.series, r.number, r.full_number, r.kind, r.issue_date, r.due_date,
        client_code(r.client_id), r.client_name, r.client_tax_id, r.client_country, r.position,
        r.product_code, r.name, r.unit, r.quantity, r.unit_price, r.vat_category, r.vat_rate,
        r.net, r.vat, r.gross, r.currency, rate_text(r.fx_rate),
        r.net_ron, r.vat_ron, r.gross_ron, r.client_account, r.revenue_account, r.vat_account,
        "yes" if r.vat_on_collection else "no", r.efactura_index,
    ]  # fmt: skip


def table_csv(header: list[str], rows: Iterable[list[Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";")
    w.writerow(safe_row(header))
    for row in rows:
        w.writerow(safe_row(v.isoformat() if isinstance(v, date) else v for v in row))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def table_xlsx(header: list[str], rows: Iterable[list[Any]], title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    xlsx_append(ws, header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        xlsx_append(ws, row)
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, Decimal):
                cell.number_format = "#,##0.00##"
            elif isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
