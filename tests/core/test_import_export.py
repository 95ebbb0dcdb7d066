"""The JSON import is all or nothing; the export lists every invoice with its figures."""

import copy
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from recurent.catalog.models import Product
from recurent.clients.models import Client
from recurent.companies.models import Company
from recurent.contracts.importing import ImportFailed, import_data
from recurent.contracts.models import Contract
from tests import factories as f

EXAMPLE = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "examples" / "import.json").read_text()
)


def test_the_documented_example_imports(db):
    u = f.user("boss", is_superuser=True)
    rep = import_data(copy.deepcopy(EXAMPLE), user=u)
    assert rep.created == {"companies": 1, "series": 2, "products": 2, "clients": 2, "contracts": 2}
    ion = Client.objects.get(name="Ion Popescu")
    assert (ion.county, ion.city, ion.emails) == ("RO-B", "SECTOR3", ["ion@example.ro"])
    c2 = Contract.objects.get(number="CTR-2")
    assert c2.status == "active" and c2.changes.get().actor == "import"


def test_one_bad_record_writes_nothing_and_every_error_is_listed_with_its_position(db):
    f.user("boss", is_superuser=True)
    data = copy.deepcopy(EXAMPLE)
    data["products"][1]["unit_price"] = "-3"
    data["clients"][0]["tax_id"] = "RO14399841"
    data["contracts"][1]["cycle"] = "days"
    data["contracts"][1]["every_days"] = 0
    data["contracts"][0]["lines"][0]["product"] = "NOPE"
    with pytest.raises(ImportFailed) as e:
        import_data(data)
    where = {w for w, _ in e.value.errors}
    assert {"products[1].unit_price", "clients[0].tax_id", "contracts[0].lines[0].product"} <= where
    assert any(w.startswith("contracts[1]") and "every_days" in w for w in where)
    assert (
        not Company.objects.exists()
        and not Product.objects.exists()
        and not Contract.objects.exists()
    )


def test_import_command_reports_errors_and_fails(db, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"company": {"cui": "123"}}')
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import", str(bad))
    assert "company.cui" in capsys.readouterr().err
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(CommandError, match="line 1"):
        call_command("import", str(tmp_path / "junk.json"))


def test_export_lists_invoices_with_lines_breakdown_and_totals(world, tmp_path):
    from recurent.invoices.services import issue_due
    from tests.factories import local

    f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 2, 1))
    issue_due(as_of=local(2026, 3, 1))
    out = tmp_path / "inv.json"
    call_command("export", "invoices", "--format", "json", "-o", str(out))
    data = json.loads(out.read_text())
    assert [d["number"] for d in data] == ["REC-000001", "REC-000002"]
    first = data[0]
    assert first["period_start"] == "2026-01-31" and first["lines"][0]["net"] == "100.00"
    assert first["vat_breakdown"][0]["vat"] == "21.00" and first["gross_total"] == "121.00"
    assert first["buyer"]["name"] and first["seller"]["cui"] == "RO18547290"
    call_command("export", "invoices", "--as-of", "2026-02-01T12:00", "-o", str(out))
    assert len(json.loads(out.read_text())) == 1


def test_export_one_invoice_as_pdf_and_ubl(world, tmp_path):
    from recurent.invoices.services import issue_due
    from tests.factories import local

    f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 2, 1))
    call_command(
        "export", "invoice", "REC-000001", "--format", "pdf", "-o", str(tmp_path / "a.pdf")
    )
    call_command("export", "invoice", "REC-1", "--format", "ubl", "-o", str(tmp_path / "a.xml"))
    assert (tmp_path / "a.pdf").read_bytes().startswith(b"%PDF-")
    assert b"urn:efactura.mfinante.ro:CIUS-RO:1.0.1" in (tmp_path / "a.xml").read_bytes()
    with pytest.raises(CommandError, match="no invoice"):
        call_command(
            "export", "invoice", "REC-000999", "--format", "pdf", "-o", str(tmp_path / "b.pdf")
        )
