"""The exports and the month-close package built from the demo data (a year of history, RON and
EUR, paid and unpaid), read back and checked against the invoices themselves."""

from __future__ import annotations

import configparser
import csv
import hashlib
import io
import json
import zipfile
from datetime import timedelta
from decimal import Decimal

from lxml import etree

from recurent.accounting.closing import month_close_package
from recurent.accounting.services import accounting_export
from recurent.common import clock
from recurent.companies.models import Company
from recurent.invoices.models import Invoice
from recurent.worker.demo import demo_load

D = Decimal


def test_demo_exports_read_back_to_the_invoices(db):
    demo_load(bill=True)
    company = Company.objects.get()
    last = Invoice.objects.latest("issue_date").issue_date
    start = last - timedelta(days=300)
    invoices = list(Invoice.objects.filter(issue_date__gte=start, issue_date__lte=last))
    assert len(invoices) > 10 and {i.currency for i in invoices} >= {"RON"}
    as_of = clock.now()

    def run(fmt):  # type: ignore[no-untyped-def]
        return accounting_export(
            company=company, fmt=fmt, date_from=start, date_to=last, as_of=as_of, mark=False
        )

    # Journal: every line, and per invoice the lines add up to its stored totals.
    rows = list(csv.DictReader(io.StringIO(run("csv").content.decode("utf-8-sig")), delimiter=";"))
    for inv in invoices:
        mine = [r for r in rows if r["document"] == inv.full_number]
        assert len(mine) == inv.lines.count()
        assert sum(D(r["net"]) for r in mine) == inv.net_total
        assert sum(D(r["vat"]) for r in mine) == inv.vat_total
        if inv.vat_total_ron is not None and inv.currency != "RON":
            assert sum(D(r["vat_ron"]) for r in mine) == inv.vat_total_ron
    # Saga: one XML per invoice, whose lines add up to the invoice.
    z = zipfile.ZipFile(io.BytesIO(run("saga").content))
    names = [n for n in z.namelist() if n.startswith("facturi/")]
    assert len(names) == len(invoices)
    by_number = {i.full_number: i for i in invoices}
    for name in names:
        root = etree.fromstring(z.read(name))
        inv = by_number[root.findtext("Factura/Antet/FacturaNumar")]
        lines = root.findall("Factura/Detalii/Continut/Linie")
        total = sum(D(li.findtext("Valoare")) + D(li.findtext("TVA")) for li in lines)
        assert total == inv.gross_total
        assert root.findtext("Factura/Antet/FacturaMoneda") == inv.currency
    # WinMENTOR: one [Factura_N] per invoice.
    wz = zipfile.ZipFile(io.BytesIO(run("winmentor").content))
    ini = configparser.ConfigParser(interpolation=None)
    ini.read_string(wz.read(next(n for n in wz.namelist() if n.endswith(".txt"))).decode("cp1250"))
    assert int(ini["InfoPachet"]["TotalFacturi"]) == len(invoices)
    # The month-close package of the last month: whole, and true to its manifest.
    month = last.strftime("%Y-%m")
    pkg = zipfile.ZipFile(
        io.BytesIO(month_close_package(company=company, month=month, as_of=as_of).content)
    )
    manifest = json.loads(pkg.read("manifest.json"))
    for entry in manifest["files"]:
        assert hashlib.sha256(pkg.read(entry["name"])).hexdigest() == entry["sha256"]
    of_month = Invoice.objects.filter(issue_date__year=last.year, issue_date__month=last.month)
    pdfs = [n for n in pkg.namelist() if n.startswith("facturi/") and n.endswith(".pdf")]
    assert len(pdfs) == of_month.count()
