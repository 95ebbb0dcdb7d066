"""CSV exports of internet banking (Banca Transilvania, ING Romania), written to the layouts
public parsers of these exports describe: read with payer, IBAN and text, matched like a
statement, refused whole with line and reason when broken."""

import pytest
from django.core.exceptions import ValidationError

from recurent.clients.models import Client
from recurent.payments import selectors as sel
from recurent.payments.bank import statement_import
from recurent.payments.models import StatementImport, StatementLine
from recurent.payments.statements import StatementError, parse
from tests.factories import local

from .helpers import billed

# Service errors read in English here, as the API and the command line show them.
pytestmark = pytest.mark.usefixtures("english")

NOW = local(2026, 2, 20, 9)

BT = """Extras de cont;;;;;;
Numar cont:;RO49BTRLRONCRT0123456789;;;;;
Valuta:;RON;;;;;
Data tranzactie,Data valuta,Descriere,Referinta tranzactiei,Debit,Credit,Sold contabil
2026-02-05,2026-02-05,"Incasare OP - canal electronic C.I.F.:20744552 Plata REC-000001 1 ALFA SRL RO16BTRLRONCRT0123456701 BTRLRO22  REF: 139ZEXA2600002BX",139ZEXA2600002BX,,121.00,1121.00
2026-02-05,2026-02-05,"Comision plata OP REF: 029ZEXA2600901JY",029ZEXA2600901JY,-0.51,,1120.49
2026-02-06,2026-02-06,"Incasare OP - canal electronic abonament 1 BETA SRL RO06RNCB0072049912340001 RNCBROBU  REF: 139ZEXA2600003CC",139ZEXA2600003CC,,242.00,1362.49
Gasit/e: 3
""".replace(";", ",")

ING = """ING Bank N.V. Amsterdam - Sucursala Bucuresti
Cont: RO19INGB0000999904621843
Data,,,Detalii tranzactie,,Debit,Credit
05 februarie 2026,,,Incasare,,,"121,00"
,,,Ordonator: ALFA SRL,,,
,,,Din contul: RO16BTRLRONCRT0123456701,,,
,,,Detalii: contravaloare fact REC nr. 1,,,
,,,Referinta: 2602051234,,,
06 februarie 2026,,,Plata,,"1.000,00",
,,,Beneficiar: FURNIZOR SRL,,,
"""


@pytest.fixture
def ab(world):
    made = billed(world, ["100", "200"])
    for (cl, _), iban in zip(made, ["RO16BTRLRONCRT0123456701", "RO06RNCB0072049912340001"],
                             strict=True):  # fmt: skip
        Client.objects.filter(pk=cl.pk).update(iban=iban)
    return [invs[0] for _, invs in made]


def test_bt_csv_export_is_read_with_payers_and_matched(world, ab):
    parsed = parse(BT.encode("utf-8"))
    assert (parsed.format, parsed.account_iban, len(parsed.entries)) == (
        "csv-bt", "RO49BTRLRONCRT0123456789", 3,
    )  # fmt: skip
    first = parsed.entries[0]
    assert (first.payer_name, first.payer_iban, first.bank_reference) == (
        "ALFA SRL", "RO16BTRLRONCRT0123456701", "139ZEXA2600002BX",
    )  # fmt: skip
    imp = statement_import(company=world.company, filename="bt.csv", content=BT.encode(),
                           as_of=NOW, user=world.user)  # fmt: skip
    assert (imp.lines_new, imp.matched) == (2, 2)  # the fee is ours, not a client's
    assert all(sel.payment_state(inv, NOW) == "paid" for inv in ab)


def test_ing_csv_export_with_detail_rows(world, ab):
    parsed = parse(ING.encode("cp1250"))
    credit, debit = parsed.entries
    assert (credit.payer_name, credit.payer_iban, credit.remittance, credit.bank_reference) == (
        "ALFA SRL", "RO16BTRLRONCRT0123456701", "contravaloare fact REC nr. 1", "2602051234",
    )  # fmt: skip
    assert (str(credit.booking_date), credit.amount) == ("2026-02-05", 121)
    assert (debit.credit, debit.amount, debit.payer_name) == (False, 1000, "FURNIZOR SRL")
    statement_import(company=world.company, filename="ing.csv", content=ING.encode("cp1250"),
                     as_of=NOW, user=world.user)  # fmt: skip
    assert sel.payment_state(ab[0], NOW) == "paid"


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [
        (BT.replace(",1362.49", ",1362.50"), 7, "incomplete or altered"),
        (BT.replace("2026-02-06,2026-02-06", "2026-02-31,2026-02-06"), 7, "not a date"),
        (ING.replace("05 februarie 2026", "35 februarie 2026"), 4, "not a date"),
        (ING.replace('"1.000,00"', '"1.000,0x"'), 9, "not an amount"),
    ],
)
def test_a_broken_export_is_refused_whole(world, ab, content, line, reason):
    with pytest.raises(StatementError) as e:
        parse(content.encode())
    assert (e.value.line, reason in e.value.reason) == (line, True), e.value.reason
    with pytest.raises(ValidationError):
        statement_import(company=world.company, filename="x.csv", content=content.encode(),
                         as_of=NOW, user=world.user)  # fmt: skip
    assert StatementImport.objects.count() == 0 and StatementLine.objects.count() == 0


OTHER = """Raport tranzactii;;;;
Data;Suma;Detalii;Platitor;Cont platitor
05.02.2026;121,00;Plata REC-000001;ALFA SRL;RO16BTRLRONCRT0123456701
05.02.2026;-10,00;Comision;;
06.02.2026;242,00;abonament februarie;BETA SRL;RO06RNCB0072049912340001
"""
MAPPING = {"date_column": "Data", "amount_column": "Suma", "details_column": "Detalii",
           "payer_column": "Platitor", "payer_iban_column": "Cont platitor",
           "date_format": "%d.%m.%Y", "decimal_comma": "on"}  # fmt: skip


def test_another_banks_csv_is_read_with_the_accounts_saved_columns(world, ab):
    from recurent.payments.bank import column_mapping_save

    with pytest.raises(ValidationError) as e:
        column_mapping_save(company=world.company, account_iban="RO00XXXX", values={},
                            user=world.user)  # fmt: skip
    assert {"account_iban", "date_column", "details_column", "amount_column"} <= set(
        e.value.message_dict
    )
    m = column_mapping_save(company=world.company, account_iban="RO49 AAAA 1B31 0075 9384 0000",
                            values=MAPPING, user=world.user)  # fmt: skip
    with pytest.raises(StatementError):
        parse(OTHER.encode())  # without the columns it is no known format
    imp = statement_import(company=world.company, filename="x.csv", content=OTHER.encode(),
                           as_of=NOW, user=world.user, mapping=m)  # fmt: skip
    assert (imp.format, imp.lines_new, imp.matched) == ("csv", 2, 2)
    line = StatementLine.objects.get(bank_reference__startswith="H", amount=242)
    assert (line.payer_name, line.payer_iban) == ("BETA SRL", "RO06RNCB0072049912340001")
    assert all(sel.payment_state(inv, NOW) == "paid" for inv in ab)
    broken = OTHER.replace("06.02.2026", "31.02.2026")
    with pytest.raises(ValidationError) as e:
        statement_import(company=world.company, filename="x.csv", content=broken.encode(),
                         as_of=NOW, user=world.user, mapping=m)  # fmt: skip
    assert e.value.message_dict["file"][0].startswith("line 5: ")


def test_the_columns_are_saved_and_used_from_the_page(client, world, ab):
    from django.urls import reverse

    from recurent.payments import bank
    from recurent.payments.models import ColumnMapping

    client.force_login(world.user)
    web = client
    web.post(reverse("payments:statements"),
             {"action": "mapping", "account_iban": "RO49AAAA1B31007593840000", **MAPPING})  # fmt: skip
    m = ColumnMapping.objects.get()
    assert (m.amount_column, m.decimal_comma) == ("Suma", True)
    page = web.get(reverse("payments:statements")).content.decode()
    assert f'<option value="{m.pk}">RO49AAAA1B31007593840000</option>' in page
    import io

    r = web.post(reverse("payments:statements"),
                 {"file": io.BytesIO(OTHER.encode()), "mapping": m.pk})  # fmt: skip
    assert r.status_code == 302 and StatementImport.objects.get().mapping_id == m.pk
    bank.statements_task(limit=5)
    assert StatementImport.objects.get().matched == 2


def _xlsx(text: str, delimiter: str, typed) -> bytes:  # type: ignore[no-untyped-def]
    """The CSV as the bank's XLSX export holds it: the same table, dates and amounts typed."""
    import csv
    import io

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for row in csv.reader(io.StringIO(text), delimiter=delimiter):
        ws.append([typed(c) for c in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _typed_bt(cell: str):  # type: ignore[no-untyped-def]
    import re
    from datetime import date
    from decimal import Decimal

    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", cell):
        return date.fromisoformat(cell)
    if re.fullmatch(r"-?\d+\.\d{2}", cell):
        return float(Decimal(cell))
    return cell


def _typed_ing(cell: str):  # type: ignore[no-untyped-def]
    import re
    from datetime import date

    from recurent.payments.exports import MONTHS

    m = re.fullmatch(r"(\d{2}) ([a-z]+) (\d{4})", cell)
    if m:
        return date(int(m.group(3)), MONTHS[m.group(2)], int(m.group(1)))
    if re.fullmatch(r"[\d.]+,\d{2}", cell):
        return float(cell.replace(".", "").replace(",", "."))
    return cell


@pytest.mark.parametrize(("text", "typed"), [(BT, _typed_bt), (ING, _typed_ing)])
def test_an_xlsx_export_reads_like_its_csv_twin(text, typed):
    from_csv = parse(text.encode("utf-8"))
    from_xlsx = parse(_xlsx(text, ",", typed))
    assert from_xlsx.format == from_csv.format.replace("csv", "xlsx")
    assert from_xlsx.account_iban == from_csv.account_iban
    assert from_xlsx.entries == from_csv.entries and from_xlsx.entries


def test_an_xlsx_of_another_bank_is_read_with_the_saved_columns(world, ab):
    import re
    from datetime import datetime

    from recurent.payments.bank import column_mapping_save

    def typed(cell: str):  # type: ignore[no-untyped-def]
        if re.fullmatch(r"\d{2}\.\d{2}\.\d{4}", cell):
            return datetime.strptime(cell, "%d.%m.%Y")
        if re.fullmatch(r"-?\d+,\d{2}", cell):
            return float(cell.replace(",", "."))
        return cell

    m = column_mapping_save(company=world.company, account_iban="RO49 AAAA 1B31 0075 9384 0000",
                            values=MAPPING, user=world.user)  # fmt: skip
    imp = statement_import(company=world.company, filename="x.xlsx", content=_xlsx(OTHER, ";", typed),
                           as_of=NOW, user=world.user, mapping=m)  # fmt: skip
    assert (imp.lines_new, imp.matched) == (2, 2)


def test_an_xlsx_bomb_is_refused_cheaply():
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (64 << 20))  # 64 MB of zeros, ~64 KB zipped
    with pytest.raises(StatementError):
        parse(buf.getvalue())
