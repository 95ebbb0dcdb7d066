"""An import file's contracts carry variable lines (tiers, minimum, default quantity), the
missing-readings choice, late-payment interest, and one-off charges and credits for their first
invoice (issue 19; docs/import-format.md), checked by the same functions as the web and API."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest

from recurent.contracts.importing import ImportFailed, import_data
from recurent.contracts.models import Contract, ContractCharge, ContractLine
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from tests import factories as f

EXAMPLE = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "examples" / "import.json").read_text()
)
TIERS = [{"up_to": "100", "unit_price": "1.50"}, {"up_to": None, "unit_price": "1.20"}]


def _with(**contract) -> dict:  # type: ignore[no-untyped-def]
    data = copy.deepcopy(EXAMPLE)
    data["contracts"][0].update(contract)
    return data


def test_an_imported_variable_line_interest_and_charges_reach_the_first_invoice(db):
    u = f.user("boss", is_superuser=True)
    line = {"product": "HOST", "quantity": "1", "variable": True, "tiers": TIERS,
            "minimum_charge": "10", "default_quantity": "150"}  # fmt: skip
    data = _with(
        lines=[line], missing_usage="default", interest_rule="contractual",
        interest_daily_percent="0.05",
        charges=[{"description": "Taxă de instalare", "unit_price": "150"},
                 {"kind": "credit", "description": "Bun venit", "unit_price": "20"}],
    )  # fmt: skip
    import_data(data, user=u)
    c = Contract.objects.get(number=data["contracts"][0]["number"])
    assert (c.missing_usage, c.interest_rule, c.interest_daily_percent) == (
        "default", "contractual", Decimal("0.0500"))  # fmt: skip
    li = ContractLine.objects.get(contract=c)
    assert (li.variable, li.meter, li.tiers, li.minimum_charge, li.default_quantity) == (
        True, "sum", TIERS, Decimal("10.00"), Decimal("150.0000"))  # fmt: skip
    assert c.changes.filter(action="charge_added").count() == 2
    issue_due(as_of=c.first_issue_at)
    inv = Invoice.objects.get(contract=c)
    lines = [(x.quantity, x.unit_price, x.net) for x in inv.lines.order_by("position")]
    # No usage recorded: the default 150 priced by the tiers, then the charge and the credit.
    assert lines == [
        (Decimal("100"), Decimal("1.5"), Decimal("150.00")),
        (Decimal("50"), Decimal("1.2"), Decimal("60.00")),
        (Decimal("1"), Decimal("150"), Decimal("150.00")),
        (Decimal("-1"), Decimal("20"), Decimal("-20.00")),
    ], lines
    assert set(ContractCharge.objects.values_list("invoice_id", flat=True)) == {inv.pk}


def test_bad_usage_interest_and_charges_fail_the_import_naming_each(db):
    u = f.user("boss", is_superuser=True)
    bad_tiers = [{"up_to": "100", "unit_price": "1"}, {"up_to": "50", "unit_price": "1"}]
    data = _with(
        lines=[{"product": "HOST", "quantity": "1", "variable": True, "tiers": bad_tiers,
                "meter": "guess"}],
        interest_rule="whenever", missing_usage="later",
        charges=[{"description": "", "unit_price": "abc"}, {"unit_price": "1", "colour": "red"}],
    )  # fmt: skip
    with pytest.raises(ImportFailed) as e:
        import_data(data, user=u)
    where = {w for w, _m in e.value.errors}
    assert {
        "contracts[0].lines[0].meter",
        "contracts[0].charges[0].description",
        "contracts[0].charges[0].unit_price",
        "contracts[0].charges[1].colour",
    } <= where, where
    data["contracts"][0]["lines"][0]["meter"] = "sum"
    with pytest.raises(ImportFailed) as e:
        import_data(data, user=u)
    assert "contracts[0].lines[0].tiers[2].up_to" in {w for w, _m in e.value.errors}
    fixed = _with(interest_rule="whenever", missing_usage="later")
    with pytest.raises(ImportFailed) as e:
        import_data(fixed, user=u)
    assert {"contracts[0].interest_rule", "contracts[0].missing_usage"} <= {
        w for w, _m in e.value.errors
    }
    assert not Contract.objects.exists() and not ContractCharge.objects.exists()


def test_a_new_companys_billing_policies_come_from_the_file(db):
    from recurent.companies.models import Company

    u = f.user("boss", is_superuser=True)
    data = copy.deepcopy(EXAMPLE)
    data["company"].update(proration_policy="immediately", review_before_issue=True,
                           review_stale_days=5, usage_cutoff_days=7, interest_enabled=True,
                           interest_rule="contractual", interest_daily_percent="0.1",
                           interest_min_amount="10")  # fmt: skip
    import_data(data, user=u)
    c = Company.objects.get()
    assert (c.proration_policy, c.review_before_issue, c.review_stale_days, c.usage_cutoff_days,
            c.interest_enabled, c.interest_rule, c.interest_daily_percent, c.interest_min_amount) == (
        "immediately", True, 5, 7, True, "contractual", Decimal("0.1000"), Decimal("10.00"))  # fmt: skip


def test_a_contractual_rule_without_its_rate_or_an_unknown_policy_fails_naming_the_field(db):
    from recurent.companies.models import Company

    u = f.user("boss", is_superuser=True)
    data = copy.deepcopy(EXAMPLE)
    data["company"].update(interest_rule="contractual", proration_policy="sometimes")
    with pytest.raises(ImportFailed) as e:
        import_data(data, user=u)
    where = {w for w, _m in e.value.errors}
    assert {"company.interest_daily_percent", "company.proration_policy"} <= where, where
    assert not Company.objects.exists()


def test_an_existing_company_keeps_its_policies_and_the_report_says_which_were_not_applied(
    db, capsys
):
    from django.core.management import call_command

    from recurent.companies.models import Company

    u = f.user("boss", is_superuser=True)
    import_data(copy.deepcopy(EXAMPLE), user=u)  # the company, with the default policies
    data = copy.deepcopy(EXAMPLE)
    data["clients"], data["contracts"] = [], []
    data["company"].update(proration_policy="immediately", review_stale_days=9,
                           usage_cutoff_days=Company.objects.get().usage_cutoff_days)  # fmt: skip
    rep = import_data(data, user=u)
    assert [w for w, _why in rep.kept] == ["company.proration_policy", "company.review_stale_days"]
    assert "'immediately'" in rep.kept[0][1] and "'next_period'" in rep.kept[0][1]
    assert Company.objects.get().proration_policy == "next_period"
    path = Path(__import__("tempfile").mkdtemp()) / "again.json"
    path.write_text(json.dumps(data))
    call_command("import", str(path), "--user", "boss")
    assert "not applied: company.proration_policy" in capsys.readouterr().out
