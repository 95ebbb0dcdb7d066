"""The import format carries a contract's yearly indexation (docs/import-format.md), checked by
the same rule as the contract form and the API; the unique row makes it once a year."""

import copy
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction

from recurent.contracts.importing import ImportFailed, import_data
from recurent.contracts.indexation import indexation_notify, indexation_tick
from recurent.contracts.models import Contract, ContractIndexation
from recurent.mail.models import OutboxKind, OutboxMessage
from tests import factories as f
from tests.factories import local

EXAMPLE = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "examples" / "import.json").read_text()
)


def test_an_imported_contract_keeps_its_indexation(db):
    u = f.user("boss", is_superuser=True)
    data = copy.deepcopy(EXAMPLE)
    data["contracts"][0].update(index_method="fixed", index_percent="3.50",
                                index_date_rule="fixed", index_day=1, index_month=3)  # fmt: skip
    import_data(data, user=u)
    c = Contract.objects.get(number=data["contracts"][0]["number"])
    assert (c.index_method, c.index_percent) == ("fixed", Decimal("3.50"))
    assert (c.index_date_rule, c.index_day, c.index_month, c.index_notice_days) == (
        "fixed", 1, 3, 30,
    )  # fmt: skip


def test_an_imported_indexation_that_cannot_work_is_refused_on_its_field(db):
    f.user("boss", is_superuser=True)
    data = copy.deepcopy(EXAMPLE)
    data["contracts"][0].update(index_method="fixed")  # no percentage
    data["contracts"][1].update(index_method="cpi", index_date_rule="fixed", index_month=13,
                                index_day=1)  # fmt: skip
    with pytest.raises(ImportFailed) as e:
        import_data(data)
    where = " ".join(w for w, _ in e.value.errors)
    assert "index_percent" in where and "index_month" in where
    assert not Contract.objects.exists()


def test_the_database_refuses_a_second_indexation_of_the_same_year(world):
    c = f.contract(world.company, issuer=world.user, index_method="fixed", index_percent="5")
    assert indexation_tick(as_of=local(2026, 12, 2)) == 1
    row = ContractIndexation.objects.get(contract=c)
    with pytest.raises(IntegrityError), transaction.atomic():
        ContractIndexation.objects.create(
            contract=c, year=row.year, due_on=row.due_on, effective_on=row.effective_on,
            factor=row.factor, noticed_at=row.noticed_at,
        )  # fmt: skip


def test_a_worker_that_comes_second_queues_no_second_notice(world):
    # Both workers listed the contract before either wrote its row: the second finds it.
    c = f.contract(world.company, issuer=world.user, index_method="fixed", index_percent="5")
    first = indexation_notify(contract=c, day=date(2027, 1, 1), as_of=local(2026, 12, 2))
    second = indexation_notify(contract=c, day=date(2027, 1, 1), as_of=local(2026, 12, 2, 9, 1))
    assert first is not None and second is None
    assert OutboxMessage.objects.filter(kind=OutboxKind.NOTICE).count() == 1
