"""Variable quantities (usage): readings and usage become invoice lines, exactly once."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recurent.contracts.models import Contract, HoldKind, UsageRecord
from recurent.contracts.usage import (
    line_usage_set,
    reading_record,
    usage_import_csv,
    usage_record,
)
from recurent.invoices.models import Invoice
from recurent.invoices.services import contract_upcoming, issue_due, preview_due
from tests import factories as f
from tests.factories import local

AT = local(2026, 1, 20)
TIERS = [{"up_to": "100", "unit_price": "1.50"}, {"up_to": None, "unit_price": "1.20"}]


def _metered(world, *, meter="sum", tiers=(), minimum=None, default=None, missing="wait"):
    """A contract with a fixed subscription line (1) and a variable line (2), monthly from
    2026-01-31."""
    sub = f.product(world.company, name="Abonament", unit_price=Decimal("10"))
    water = f.product(world.company, name="Apa", unit_price=Decimal("2"), unit_code="MTQ")
    c = f.contract(world.company, issuer=world.user, lines=[(sub, "1"), (water, "1")],
                   first=local(2026, 1, 31))  # fmt: skip
    Contract.objects.filter(pk=c.pk).update(missing_usage=missing)
    line_usage_set(contract=c, line_position=2, user=world.user, meter=meter, tiers=list(tiers),
                   minimum_charge=minimum, default_quantity=default)  # fmt: skip
    c.refresh_from_db()
    return c


def _lines(inv):
    return [(li.name, li.quantity, li.unit_price, li.net) for li in inv.lines.order_by("position")]


def test_usage_is_summed_priced_by_tiers_and_lands_on_one_invoice_once(world):
    c = _metered(world, tiers=TIERS)
    a = usage_record(contract=c, line_position=2, quantity="80", as_of=AT, user=world.user)
    b = usage_record(contract=c, line_position=2, quantity="45.5", as_of=AT, user=world.user)
    issue_due(as_of=local(2026, 1, 31))
    issue_due(as_of=local(2026, 1, 31))  # a second run adds nothing
    inv = Invoice.objects.get(contract=c)
    assert _lines(inv) == [
        ("Abonament", Decimal("1"), Decimal("10"), Decimal("10.00")),
        ("Apa (0-100)", Decimal("100"), Decimal("1.5"), Decimal("150.00")),
        ("Apa (> 100)", Decimal("25.5"), Decimal("1.2"), Decimal("30.60")),
    ]
    assert inv.net_total == Decimal("190.60")
    assert set(UsageRecord.objects.values_list("invoice_id", flat=True)) == {inv.pk}
    assert {a.pk, b.pk} == set(inv.usage_records.values_list("pk", flat=True))


def test_a_minimum_charge_adds_the_difference_as_its_own_line(world):
    c = _metered(world, minimum="50")
    usage_record(contract=c, line_position=2, quantity="5", as_of=AT, user=world.user)
    issue_due(as_of=local(2026, 1, 31))
    inv = Invoice.objects.get(contract=c)
    assert _lines(inv)[1:] == [
        ("Apa", Decimal("5"), Decimal("2"), Decimal("10.00")),
        ("Apa (minim facturat)", Decimal("1"), Decimal("40"), Decimal("40.00")),
    ]
    assert inv.net_total == Decimal("60.00")


def test_a_contract_without_readings_waits_then_issues_when_they_come(world):
    c = _metered(world)
    res = issue_due(as_of=local(2026, 1, 31))
    assert res.issued == 0 and "waiting for readings" in res.held[0][1]
    c.refresh_from_db()
    assert (c.hold_kind, c.next_index) == (HoldKind.USAGE, 0)
    usage_record(contract=c, line_position=2, quantity="3", as_of=local(2026, 2, 1),
                 user=world.user)  # fmt: skip
    assert issue_due(as_of=local(2026, 2, 1, 10)).issued == 1
    inv = Invoice.objects.get(contract=c)
    assert inv.period_index == 0 and inv.net_total == Decimal("16.00")
    c.refresh_from_db()
    assert c.hold_kind == HoldKind.NONE


def test_after_the_companys_cut_off_the_default_quantity_is_invoiced(world):
    world.company.usage_cutoff_days = 3
    world.company.save()
    c = _metered(world, default="7")
    assert issue_due(as_of=local(2026, 2, 2)).issued == 0  # 2 days after the issue instant
    assert issue_due(as_of=local(2026, 2, 3)).issued == 1  # the cut-off day
    inv = Invoice.objects.get(contract=c)
    assert _lines(inv)[1] == ("Apa", Decimal("7"), Decimal("2"), Decimal("14.00"))


def test_a_contract_set_to_default_issues_at_once_with_the_default_quantity(world):
    c = _metered(world, default="4", missing="default")
    assert issue_due(as_of=local(2026, 1, 31)).issued == 1
    assert Invoice.objects.get(contract=c).net_total == Decimal("18.00")


def test_meter_readings_invoice_their_difference_from_the_previous_reading(world):
    c = _metered(world, meter="reading")
    with pytest.raises(ValidationError) as e:
        reading_record(contract=c, line_position=2, reading="1200", as_of=AT, user=world.user)
    assert "previous" in e.value.message_dict  # the first reading needs the one before it
    reading_record(contract=c, line_position=2, reading="1200", previous="1150", as_of=AT,
                   user=world.user)  # fmt: skip
    issue_due(as_of=local(2026, 1, 31))
    r = reading_record(contract=c, line_position=2, reading="1230", as_of=local(2026, 2, 10),
                       user=world.user)  # fmt: skip
    assert (r.reading_start, r.quantity, r.period_index) == (Decimal("1200"), Decimal("30"), 1)
    with pytest.raises(ValidationError) as e:
        reading_record(contract=c, line_position=2, reading="1240", as_of=local(2026, 2, 10),
                       user=world.user)  # fmt: skip
    assert e.value.error_dict["reading"][0].code == "duplicate"
    issue_due(as_of=local(2026, 2, 28))
    first, second = Invoice.objects.filter(contract=c).order_by("number")
    assert _lines(first)[1][1] == Decimal("50") and _lines(second)[1][1] == Decimal("30")


def test_a_reading_below_the_previous_one_is_refused_and_nothing_is_written(world):
    c = _metered(world, meter="reading")
    with pytest.raises(ValidationError) as e:
        reading_record(contract=c, line_position=2, reading="90", previous="100", as_of=AT,
                       user=world.user)  # fmt: skip
    assert e.value.error_dict["reading"][0].code == "below_previous"
    assert not UsageRecord.objects.exists()


def test_the_same_key_returns_the_first_record_and_other_values_are_refused(world):
    c = _metered(world)
    a = usage_record(contract=c, line_position=2, quantity="5", as_of=AT, user=world.user,
                     key="k-1")  # fmt: skip
    b = usage_record(contract=c, line_position=2, quantity="5", as_of=AT, user=world.user,
                     key="k-1")  # fmt: skip
    assert a.pk == b.pk and UsageRecord.objects.count() == 1
    with pytest.raises(ValidationError) as e:
        usage_record(contract=c, line_position=2, quantity="6", as_of=AT, user=world.user,
                     key="k-1")  # fmt: skip
    assert e.value.error_dict["key"][0].code == "key_reused"


def test_usage_for_an_invoiced_period_or_a_fixed_line_is_refused(world):
    c = _metered(world, missing="default")
    issue_due(as_of=local(2026, 1, 31))
    with pytest.raises(ValidationError) as e:
        usage_record(contract=c, line_position=2, quantity="1", period_index=0, as_of=AT,
                     user=world.user)  # fmt: skip
    assert e.value.error_dict["period_index"][0].code == "invoiced"
    with pytest.raises(ValidationError) as e:
        usage_record(contract=c, line_position=1, quantity="1", as_of=AT, user=world.user)
    assert e.value.error_dict["line"][0].code == "not_variable"
    with pytest.raises(ValidationError) as e:
        usage_record(contract=c, line_position=2, quantity="-1", as_of=AT, user=world.user)
    assert "quantity" in e.value.message_dict


def test_bad_tiers_are_refused_naming_the_tier(world):
    c = _metered(world)
    with pytest.raises(ValidationError) as e:
        line_usage_set(contract=c, line_position=2, user=world.user,
                       tiers=[{"up_to": "100", "unit_price": "1"},
                              {"up_to": "50", "unit_price": "1"}])  # fmt: skip
    assert "tiers[2].up_to" in e.value.message_dict


def test_a_csv_import_is_all_or_nothing_and_names_row_and_column(world):
    c = _metered(world)
    bad = f"contract,line,quantity\n{c.number},2,5\n{c.number},2,abc\nNOPE,2,1\n"
    with pytest.raises(ValidationError) as e:
        usage_import_csv(company_id=world.company.pk, text=bad, as_of=AT, user=world.user)
    messages = e.value.message_dict["file"]
    assert messages[0].startswith("rândul 3: quantity: nu este un număr")
    assert messages[1].startswith("rândul 4: contract:")
    assert not UsageRecord.objects.exists()
    good = f"contract,line,quantity,key\n{c.number},2,5,a\n{c.number},2,2.5,b\n"
    done = usage_import_csv(company_id=world.company.pk, text=good, as_of=AT, user=world.user)
    assert [r.quantity for r in done] == [Decimal("5"), Decimal("2.5")]
    usage_import_csv(company_id=world.company.pk, text=good, as_of=AT, user=world.user)
    assert UsageRecord.objects.count() == 2  # the keys make a second upload change nothing


def test_a_block_reads_its_usage_in_one_query(world):
    contracts = [_metered(world) for _ in range(4)]
    for c in contracts:
        usage_record(contract=c, line_position=2, quantity="3", as_of=AT, user=world.user)
    with CaptureQueriesContext(connection) as q:
        res = issue_due(as_of=local(2026, 1, 31))
    assert res.issued == 4
    reads = [x["sql"] for x in q.captured_queries
             if "contracts_usagerecord" in x["sql"] and x["sql"].lstrip().startswith("SELECT")]  # fmt: skip
    assert len(reads) == 1


def test_the_preview_and_the_next_invoices_show_pending_usage_and_waiting(world):
    c = _metered(world)
    up = contract_upcoming(contract=c, as_of=AT, count=2)
    assert "waiting for readings" in up[0]["problem"]
    usage_record(contract=c, line_position=2, quantity="3", as_of=AT, user=world.user)
    up = contract_upcoming(contract=c, as_of=AT, count=2)
    assert up[0]["net"] == Decimal("16.00") and "waiting" in up[1]["problem"]
    assert up[0]["usage"] == [(2, Decimal("3"))] and up[1]["usage"] == []
    prev = preview_due(as_of=local(2026, 1, 31))
    assert [p["net"] for p in prev.previews] == ["16.00"]


def test_the_api_records_usage_once_per_idempotency_key(world, admin_api):
    c = _metered(world)
    body = {"line": 2, "quantity": "12.5"}
    r1 = admin_api.post(f"/contracts/{c.pk}/usage", body, headers={"Idempotency-Key": "u-1"})
    r2 = admin_api.post(f"/contracts/{c.pk}/usage", body, headers={"Idempotency-Key": "u-1"})
    assert r1.status_code == 201 and r2.status_code == 201, r1.content
    assert r1.json()["id"] == r2.json()["id"] and r1.json()["quantity"] == "12.5000"
    bad = admin_api.post(f"/contracts/{c.pk}/usage", {"line": 1, "quantity": "1"})
    assert bad.status_code in (400, 422) and "line" in bad.content.decode()
    listed = admin_api.get(f"/contracts/{c.pk}/usage").json()
    assert [u["quantity"] for u in listed] == ["12.5000"]


def test_recurent_usage_import_reports_errors_by_row_and_imports_nothing(world, tmp_path):
    from io import StringIO

    from django.core.management import CommandError, call_command

    c = _metered(world)
    path = tmp_path / "usage.csv"
    path.write_text(f"contract,line,quantity\n{c.number},2,4\n{c.number},9,1\n", encoding="utf-8")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("usage", "import", str(path), stderr=err)
    assert "row 3: line: line 9 is not a variable line of period 0" in err.getvalue()
    assert not UsageRecord.objects.exists()
    path.write_text(f"contract,line,quantity\n{c.number},2,4\n", encoding="utf-8")
    out = StringIO()
    call_command("usage", "import", str(path), "--company", str(world.company.pk), stdout=out)
    assert "imported 1 usage record(s)" in out.getvalue()
    assert UsageRecord.objects.get().source == "csv"


def test_a_tiered_invoice_with_a_minimum_charge_passes_e_factura(world, tmp_path, settings):
    from recurent.documents import ubl
    from recurent.documents.snapshot import from_invoice
    from recurent.documents.validation import check_xml
    from tests.documents.anaf import SHARED, anaf_check, fatal_rules

    settings.RECURENT_UBL_XSD_DIR = str(SHARED / "ubl-2.1-xsd")
    tiered = _metered(world, tiers=TIERS)
    usage_record(contract=tiered, line_position=2, quantity="123.4567", as_of=AT, user=world.user)
    minimum = _metered(world, meter="reading", minimum="25.50")
    reading_record(contract=minimum, line_position=2, reading="10.5", previous="3", as_of=AT,
                   user=world.user)  # fmt: skip
    issue_due(as_of=local(2026, 1, 31))
    paths = []
    for c, lines in ((tiered, 3), (minimum, 3)):
        inv = Invoice.objects.get(contract=c)
        assert inv.lines.count() == lines
        xml = ubl.build(from_invoice(inv))
        assert check_xml(xml) == []
        paths.append(tmp_path / f"{c.number}.xml")
        paths[-1].write_bytes(xml)
    for result in anaf_check(paths):
        assert result["valid"], fatal_rules(result)


def test_recurent_schedule_shows_the_pending_usage_of_each_period(world):
    import json
    from io import StringIO

    from django.core.management import call_command

    c = _metered(world)
    usage_record(contract=c, line_position=2, quantity="3", as_of=AT, user=world.user)
    out = StringIO()
    call_command("schedule", str(c.pk), "--count", "2", "--json", stdout=out)
    first, second = json.loads(out.getvalue())
    assert first["usage"] == [{"line": 2, "quantity": "3.0000"}] and first["net"] == "16.00"
    assert second["usage"] == []
    out = StringIO()
    call_command("schedule", str(c.pk), "--count", "1", stdout=out)
    assert "usage line 2: 3.0000" in out.getvalue()


def test_a_line_change_keeps_a_variable_line_variable(world):
    from recurent.contracts.models import ContractLine
    from recurent.contracts.services import LineSpec, contract_change_lines

    c = _metered(world, tiers=TIERS, minimum="5", default="2", missing="default")
    issue_due(as_of=local(2026, 1, 31))
    sub, water = [li.product for li in c.lines.order_by("position")]
    contract_change_lines(contract=c, user=world.user,
                          lines=[LineSpec(sub, Decimal(2)), LineSpec(water, Decimal(1))])  # fmt: skip
    new = ContractLine.objects.get(contract=c, position=2, from_index=1)
    assert (new.variable, new.tiers, new.minimum_charge, new.default_quantity) == (
        True, TIERS, Decimal("5.00"), Decimal("2.0000"),
    )  # fmt: skip
    assert not ContractLine.objects.get(contract=c, position=1, from_index=1).variable


def test_the_api_sets_a_line_variable_and_removes_pending_usage_only(world, admin_api):
    sub = f.product(world.company, unit_price=Decimal("10"))
    c = f.contract(world.company, issuer=world.user, lines=[(sub, "1")], first=local(2026, 1, 31))
    settings_ = {"meter": "sum", "tiers": [{"up_to": "10", "unit_price": "3"}, {"unit_price": "1"}],
                 "minimum_charge": "5", "default_quantity": "0"}  # fmt: skip
    r = admin_api.http.put(f"/api/v1/contracts/{c.pk}/lines/1/usage", settings_,
                           content_type="application/json",
                           headers=admin_api._headers(None))  # fmt: skip
    assert r.status_code == 204, r.content
    r = admin_api.http.put(f"/api/v1/contracts/{c.pk}/usage-settings", {"missing_usage": "default"},
                           content_type="application/json", headers=admin_api._headers(None))  # fmt: skip
    assert r.status_code == 204
    c.refresh_from_db()
    assert c.missing_usage == "default" and c.lines.get().tiers[0] == {
        "up_to": "10",
        "unit_price": "3",
    }
    made = admin_api.post(f"/contracts/{c.pk}/usage", {"line": 1, "quantity": "4"}).json()
    gone = admin_api.http.delete(f"/api/v1/contracts/{c.pk}/usage/{made['id']}",
                                 headers=admin_api._headers(None))  # fmt: skip
    assert gone.status_code == 204 and not UsageRecord.objects.exists()
    kept = admin_api.post(f"/contracts/{c.pk}/usage", {"line": 1, "quantity": "12"}).json()
    issue_due(as_of=local(2026, 1, 31))
    assert Invoice.objects.get(contract=c).net_total == Decimal("32.00")  # 10 x 3 + 2 x 1
    late = admin_api.http.delete(f"/api/v1/contracts/{c.pk}/usage/{kept['id']}",
                                 headers=admin_api._headers(None))  # fmt: skip
    assert late.status_code in (400, 422) and UsageRecord.objects.filter(pk=kept["id"]).exists()
