"""An import file's contracts may carry discounts and trials (docs/import-format.md)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest

from recurent.contracts.importing import ImportFailed, import_data
from recurent.contracts.models import Contract, ContractDiscount
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from tests import factories as f

EXAMPLE = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "examples" / "import.json").read_text()
)


def _with(discounts: list) -> dict:  # type: ignore[type-arg]
    data = copy.deepcopy(EXAMPLE)
    data["contracts"][0]["discounts"] = discounts
    return data


def test_an_imported_contract_is_invoiced_with_its_trial_and_discount(db):
    u = f.user("boss", is_superuser=True)
    data = _with([
        {"kind": "percent", "value": "100", "periods": 1, "trial": True, "reason": "Probă"},
        {"kind": "amount", "value": "5", "line_position": 1, "from_index": 1, "periods": 1,
         "reason": "Lansare"},
    ])  # fmt: skip
    import_data(data, user=u)
    number = data["contracts"][0]["number"]
    c = Contract.objects.get(number=number)
    assert [(d.reason, d.trial, d.from_index) for d in ContractDiscount.objects.filter(contract=c)] == [
        ("Probă", True, 0), ("Lansare", False, 1),
    ]  # fmt: skip
    assert list(c.changes.values_list("action", flat=True)).count("discount_added") == 2
    # Issued as the run would: the first period free, the second 5 lower, the third full.
    first = c.first_issue_at
    issue_due(as_of=c.schedule().period(2).issue_at)
    nets = list(
        Invoice.objects.filter(contract=c)
        .order_by("period_index")
        .values_list("net_total", flat=True)
    )
    assert nets[0] == Decimal("0.00") and nets[1] == nets[2] - Decimal("5.00") > 0, (nets, first)


def test_a_bad_discount_fails_the_import_naming_it(db):
    u = f.user("boss", is_superuser=True)
    bad = _with([
        {"kind": "percent", "value": "10", "reason": "Bun"},
        {"kind": "percent", "value": "101", "reason": "Prea mult"},
        {"value": "1", "reason": "x", "colour": "red"},
        {"value": "1", "reason": "x", "line_position": 9},
    ])  # fmt: skip
    with pytest.raises(ImportFailed) as e:
        import_data(bad, user=u)
    where = {w for w, _ in e.value.errors}
    assert {"contracts[0].discounts[1].value", "contracts[0].discounts[2]",
            "contracts[0].discounts[3].line_position"} <= where  # fmt: skip
    assert not Contract.objects.exists() and not ContractDiscount.objects.exists()
