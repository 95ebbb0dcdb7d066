"""Accounting exports: every format read back field by field, figures that add up to the
invoice to the cent, "only new" that misses none and repeats none."""

from __future__ import annotations

import configparser
import csv
import io
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from lxml import etree

from recurent.accounting.models import AccountingSettings, AccountRule, ExportedInvoice
from recurent.accounting.services import accounting_export
from recurent.engine.money import allocate
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from recurent.payments.services import payment_record
from tests import factories as f
from tests.factories import local

D = Decimal
NOW = local(2026, 3, 10, 12)


def three_thirds(world):
    """One invoice of three lines at 33.33 RON (+21 %): VAT 21.00 on the group, 7.00 per line."""
    cl = f.client(world.company, name="Horeca Timiș SRL")
    ps = [f.product(world.company, unit_price=D("33.33"), code=f"SRV{i}") for i in range(3)]
    f.contract(world.company, issuer=world.user, client_=cl, lines=[(p, "1") for p in ps])
    issue_due(as_of=local(2026, 1, 31, 10), company_id=world.company.pk)
    return Invoice.objects.get(client=cl)


def export(world, fmt, **kw):
    kw.setdefault("date_from", date(2026, 1, 1))
    kw.setdefault("date_to", date(2026, 1, 31))
    return accounting_export(company=world.company, fmt=fmt, as_of=NOW, user=world.user, **kw)


def test_line_shares_of_a_group_vat_add_up_to_it_exactly():
    assert allocate(D("21.00"), [D("33.33")] * 3) == [D("7.00")] * 3
    assert sum(allocate(D("-4.21"), [D("-10"), D("-10.05")])) == D("-4.21")
    assert allocate(D("0.01"), [D(1), D(1), D(1)]) == [D("0.01"), D("0.00"), D("0.00")]


def test_journal_csv_has_one_row_per_line_summing_to_the_invoice(world):
    inv = three_thirds(world)
    out = export(world, "csv")
    assert out.invoice_count == 1 and out.filename == "jurnal_2026-01-01_2026-01-31.csv"
    rows = list(csv.DictReader(io.StringIO(out.content.decode("utf-8-sig")), delimiter=";"))
    assert [r["document"] for r in rows] == [inv.full_number] * 3
    assert sum(D(r["net"]) for r in rows) == inv.net_total == D("99.99")
    assert sum(D(r["vat"]) for r in rows) == inv.vat_total == D("21.00")
    assert {r["vat"] for r in rows} == {"7.00"}
    assert {r["client_account"] for r in rows} == {"4111"}
    assert {r["revenue_account"] for r in rows} == {"704"}
    assert {r["vat_account"] for r in rows} == {"4427"}
    assert rows[0]["client"] == "Horeca Timiș SRL" and rows[0]["issue_date"] == "2026-01-31"


def test_accounts_follow_the_rules_product_first_then_category(world):
    AccountingSettings.objects.create(company=world.company, revenue_account="706")
    AccountRule.objects.create(company=world.company, product_code="SRV1", revenue_account="7041")
    AccountRule.objects.create(company=world.company, vat_category="S", revenue_account="707")
    three_thirds(world)
    rows = list(
        csv.DictReader(io.StringIO(export(world, "csv").content.decode("utf-8-sig")), delimiter=";")
    )
    assert [(r["product_code"], r["revenue_account"]) for r in rows] == [
        ("SRV0", "707"), ("SRV1", "7041"), ("SRV2", "707"),
    ]  # fmt: skip


def test_saga_invoice_xml_reads_back_field_by_field(world):
    inv = three_thirds(world)
    z = zipfile.ZipFile(io.BytesIO(export(world, "saga").content))
    name = f"facturi/F_{''.join(c for c in world.company.cui if c.isdigit())}_{inv.full_number}_31-01-2026.xml"
    assert name in z.namelist()
    root = etree.fromstring(z.read(name))
    a = root.find("Factura/Antet")
    assert a.findtext("FurnizorCIF").isdigit()  # Saga keeps its own CIF without RO
    assert a.findtext("FurnizorNume") == world.company.legal_name
    assert a.findtext("ClientNume") == "Horeca Timiș SRL"
    assert a.findtext("FacturaNumar") == inv.full_number
    assert a.findtext("FacturaData") == "31.01.2026"
    assert a.findtext("FacturaScadenta") == inv.due_date.strftime("%d.%m.%Y")
    assert a.findtext("FacturaTaxareInversa") == "Nu"
    assert a.findtext("FacturaMoneda") == "RON"
    assert a.findtext("Cod") == f"{inv.client_id:05d}"
    lines = root.findall("Factura/Detalii/Continut/Linie")
    assert [li.findtext("LinieNrCrt") for li in lines] == ["1", "2", "3"]
    assert [li.findtext("Valoare") for li in lines] == ["33.33"] * 3
    assert [li.findtext("TVA") for li in lines] == ["7.00"] * 3
    assert [li.findtext("ProcTVA") for li in lines] == ["21"] * 3
    assert [li.findtext("Cont") for li in lines] == ["704"] * 3
    assert root.findtext("Factura/FacturaID") == f"recurent-{inv.pk}"
    clients = etree.fromstring(z.read("clienti/CLI_31-01-2026.xml"))
    assert clients.findtext("Linie/Denumire") == "Horeca Timiș SRL"
    assert clients.findtext("Linie/Cod") == f"{inv.client_id:05d}"


def test_saga_receipts_name_the_invoice_paid_and_the_treasury_account(world):
    inv = three_thirds(world)
    payment_record(
        company=world.company, client=inv.client, date=date(2026, 1, 31), amount=D("150.00"),
        method="cash", receipt_number="CH-7", allocations=[(inv, inv.gross_total)],
        as_of=NOW, user=world.user,
    )  # fmt: skip
    z = zipfile.ZipFile(io.BytesIO(export(world, "saga").content))
    lines = etree.fromstring(z.read("incasari/I_31-01-2026.xml")).findall("Linie")
    assert [(li.findtext("Suma"), li.findtext("FacturaNumar")) for li in lines] == [
        (str(inv.gross_total), inv.full_number),
        (str(D("150.00") - inv.gross_total), ""),  # the rest is an advance, with no invoice
    ]
    assert {li.findtext("Cont") for li in lines} == {"5311"}
    assert {li.findtext("ContClient") for li in lines} == {"4111"}
    assert lines[0].findtext("Numar") == "CH-7" and lines[0].findtext("Data") == "31.01.2026"


def test_winmentor_invoice_file_reads_back_as_ini_in_windows_1250(world):
    inv = three_thirds(world)
    z = zipfile.ZipFile(io.BytesIO(export(world, "winmentor").content))
    text = z.read("facturi_iesire_2026-01-01_2026-01-31.txt").decode("cp1250")
    ini = configparser.ConfigParser(interpolation=None)
    ini.optionxform = str  # type: ignore[assignment,method-assign]
    ini.read_string(text)
    assert ini["InfoPachet"]["TipDocument"] == "FACTURA IESIRE"
    assert ini["InfoPachet"]["TotalFacturi"] == "1"
    fa = ini["Factura_1"]
    assert (fa["NrDoc"], fa["SerieCarnet"], fa["Data"]) == (str(inv.number), "REC", "31.01.2026")
    assert fa["TotalArticole"] == "3"
    item = ini["Items_1"]["Item_1"].split(";")
    assert item[:4] == ["SRV0", "lună", "1.000", "33.3300"] and item[6] == "704"
    assert ini["Items_1"]["Item_1_TVA"] == "7.00"
    partners = z.read("parteneri_2026-01-01_2026-01-31.csv").decode("utf-8-sig")
    assert "Horeca Timiș SRL" in partners


def test_xlsx_journal_keeps_numbers_as_numbers_and_names_as_text(world):
    from openpyxl import load_workbook

    cl = f.client(world.company, name='=HYPERLINK("http://x")')
    f.contract(world.company, issuer=world.user, client_=cl)
    issue_due(as_of=local(2026, 1, 31, 10), company_id=world.company.pk)
    ws = load_workbook(io.BytesIO(export(world, "xlsx").content)).active
    header = [c.value for c in ws[1]]
    row = {h: c for h, c in zip(header, ws[2], strict=True)}
    assert row["client"].data_type == "s" and row["client"].value.startswith("=")
    assert row["net"].value == D("100.00") or float(row["net"].value) == 100.0


def test_eur_invoice_lines_carry_ron_figures_that_add_up_to_the_invoice(world):
    from recurent.rates.models import ExchangeRate

    ExchangeRate.objects.create(
        currency="EUR", date=date(2026, 1, 30), rate=D("5.0975"), published_value=D("5.0975")
    )
    ps = [f.product(world.company, currency="EUR", unit_price=D("33.33")) for _ in range(3)]
    f.contract(
        world.company, issuer=world.user, lines=[(p, "1") for p in ps], currency="EUR",
        invoice_currency="EUR",
    )  # fmt: skip
    issue_due(as_of=local(2026, 1, 31, 10))
    inv = Invoice.objects.get()
    rows = list(
        csv.DictReader(io.StringIO(export(world, "csv").content.decode("utf-8-sig")), delimiter=";")
    )
    assert {r["currency"] for r in rows} == {"EUR"} and {r["fx_rate"] for r in rows} == {"5.0975"}
    assert sum(D(r["vat_ron"]) for r in rows) == inv.vat_total_ron
    # The group base converted once: 99.99 EUR * 5.0975 = 509.699025 -> 509.70 RON.
    assert sum(D(r["net_ron"]) for r in rows) == D("509.70")


def test_only_new_takes_each_invoice_once_and_a_full_export_can_be_repeated(world):
    first = three_thirds(world)
    before = Invoice.objects.filter(pk=first.pk).values().get()
    a = export(world, "saga", only_new=True)
    assert a.invoice_count == 1
    assert export(world, "saga", only_new=True).invoice_count == 0
    # Another format has its own marks.
    assert export(world, "winmentor", only_new=True).invoice_count == 1
    # A full export repeats everything, identical bytes, and marks nothing twice.
    again = export(world, "saga")
    assert again.invoice_count == 1 and again.content == a.content
    assert ExportedInvoice.objects.filter(invoice=first, format="saga").count() == 1
    # A new invoice of the period is the only new one.
    f.contract(world.company, issuer=world.user)
    issue_due(as_of=local(2026, 1, 31, 11), company_id=world.company.pk)
    assert export(world, "saga", only_new=True).invoice_count == 1
    # The invoice itself was never written to.
    assert Invoice.objects.filter(pk=first.pk).values().get() == before


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"fmt": "dbase"}, "format"),
        ({"date_from": date(2026, 2, 1), "date_to": date(2026, 1, 1)}, "date_to"),
        ({"date_from": date(2024, 1, 1), "date_to": date(2026, 1, 1)}, "date_to"),
        ({"date_from": None}, "date_from"),
    ],
)
def test_bad_requests_name_the_field(world, kw, field):
    args = {"fmt": "csv", "date_from": date(2026, 1, 1), "date_to": date(2026, 1, 31)} | kw
    with pytest.raises(ValidationError) as e:
        accounting_export(company=world.company, as_of=NOW, **args)
    assert field in e.value.message_dict
    assert not ExportedInvoice.objects.exists()
