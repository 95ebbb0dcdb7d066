"""The import at scale (issue 22): checked in memory, written in bulk, still all or nothing.

Given a file of N records, the import reads what they point at once and writes them a chunk at
a time: the number of queries does not grow with N, an imported contract is the one
contract_create would make, and an error anywhere (even after chunks were written) leaves
nothing behind and is reported with its position.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from recurent.catalog.models import Product
from recurent.clients.models import Client
from recurent.common import events
from recurent.companies.models import Company
from recurent.contracts import import_contracts
from recurent.contracts.importing import ImportFailed, import_data
from recurent.contracts.models import Contract, ContractChange, ContractLine
from recurent.contracts.services import LineSpec, contract_create
from tests import factories as f

EXAMPLE = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "examples" / "import.json").read_text()
)
WEIGHTS = (7, 5, 3, 2, 1, 7, 5, 3, 2)


def cui(n: int) -> str:
    body = str(n).zfill(9)
    return str(n) + str(sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) * 10 % 11 % 10)


def records(n: int) -> dict:
    """The documented example with n clients and n contracts (1-3 lines each) more."""
    data = copy.deepcopy(EXAMPLE)
    for i in range(n):
        data["clients"].append({
            "ref": f"c{i}", "name": f"Client {i} SRL", "tax_id": "RO" + cui(2000000 + i),
            "street": f"Str. Lungă {i}", "city": "Cluj-Napoca", "county": "CJ",
            "emails": f"a{i}@client.example, b{i}@client.example",
        })  # fmt: skip
        data["contracts"].append({
            "number": f"CTR-B{i}", "client": f"c{i}", "signed_on": "2026-01-05",
            "first_issue_at": "2026-02-01T09:00", "cycle": ("monthly", "days")[i % 2],
            **({"every_days": 10} if i % 2 else {}), "status": ("active", "draft")[i % 3 == 2],
            "lines": [{"product": ("HOST", "HOST")[j % 2], "quantity": str(j + 1)}
                      for j in range(1 + i % 3)],
        })  # fmt: skip
    return data


@pytest.fixture
def announced(monkeypatch):
    """The domain events the import emits (instead of the wired listeners)."""
    seen: list[tuple[int, str, dict]] = []
    monkeypatch.setattr(events, "_listeners", [lambda *e: seen.append(e)])
    return seen


def test_the_number_of_queries_does_not_grow_with_the_number_of_records(db):
    boss = f.user("boss", is_superuser=True)
    counts = []
    # 64 and 512 records (with the example's 2 + 2): on SQLite the new ids come back from
    # INSERTs of power-of-two sizes (recurent.common.bulk.chunks), so 2**k rows are one each.
    for n, seller in ((30, "RO18547290"), (254, "RO13548146")):
        data = records(n)
        data["company"]["cui"] = seller  # a new company each time, as on an empty database
        with CaptureQueriesContext(connection) as q:
            rep = import_data(data, user=boss)
        assert rep.created["contracts"] == n + 2 and rep.created["clients"] == n + 2
        counts.append(len(q.captured_queries))
    assert counts[1] == counts[0], counts
    assert ContractLine.objects.count() == 4 + sum(1 + i % 3 for i in (*range(30), *range(254)))


def test_an_imported_contract_is_the_one_contract_create_makes(db, announced):
    boss = f.user("boss", is_superuser=True)
    import_data(records(3), user=boss)
    imported = Contract.objects.get(number="CTR-B1")  # every 10 days, 2 lines
    same = contract_create(
        company=imported.company, client=imported.client, number="BY-HAND",
        signed_on=imported.signed_on, first_issue_at=imported.first_issue_at,
        series=imported.series, issuer=boss, activate=True, actor="import",
        cycle="days", every_days=10,
        lines=[LineSpec(product=li.product, quantity=li.quantity) for li in imported.lines.all()],
    )  # fmt: skip
    skip = ["id", "number", "created_at", "updated_at"]
    assert model_to_dict(imported, exclude=skip) == model_to_dict(same, exclude=skip)
    lines = [[model_to_dict(li, exclude=["id", "contract"]) for li in c.lines.all()]
             for c in (imported, same)]  # fmt: skip
    assert lines[0] == lines[1] and len(lines[0]) == 2
    changes = [
        c.changes.values("user", "actor", "action", "changes").get() for c in (imported, same)
    ]
    assert changes[0] == changes[1] == {
        "user": None, "actor": "import", "action": "created", "changes": {"status": "active"}
    }  # fmt: skip
    by_id = {p["id"]: (t, p) for _, t, p in announced}
    assert by_id[imported.pk][1] | {"id": 0, "number": ""} == by_id[same.pk][1] | {
        "id": 0,
        "number": "",
    }
    assert by_id[imported.pk][0] == "contract.created"
    assert sum(t == "contract.created" for _, t, _ in announced) == 3 + 2 + 1


def test_a_bad_record_after_chunks_were_written_leaves_nothing(db, monkeypatch, announced):
    monkeypatch.setattr(import_contracts, "CHUNK", 4)  # several chunks written before the error
    f.user("boss", is_superuser=True)
    data = records(30)
    data["clients"][20]["tax_id"] = "RO14399841"  # wrong check digit: contract 18 has no client
    data["contracts"][25]["lines"][0]["quantity"] = "0"
    data["contracts"][27]["signed_on"] = "2026-13-01"
    with pytest.raises(ImportFailed) as e:
        import_data(data)
    where = [w for w, _ in e.value.errors]
    assert where == [
        "clients[20].tax_id", "contracts[20].client", "contracts[25].lines[0].quantity",
        "contracts[27].signed_on",
    ]  # fmt: skip
    assert not (Company.objects.exists() or Client.objects.exists() or Product.objects.exists())
    assert not (Contract.objects.exists() or ContractLine.objects.exists())
    assert not ContractChange.objects.exists()


def test_a_contract_error_after_its_chunk_is_positioned_and_the_rest_still_checked(db, monkeypatch):
    monkeypatch.setattr(import_contracts, "CHUNK", 4)
    f.user("boss", is_superuser=True)
    data = records(12)
    data["contracts"][3]["ends_at"] = "2026-01-01T00:00"  # before the first invoice
    data["contracts"][10]["issuer"] = "nobody"
    data["contracts"][11]["number"] = "CTR-B0"
    with pytest.raises(ImportFailed) as e:
        import_data(data)
    assert [w for w, _ in e.value.errors] == [
        "contracts[3].ends_at", "contracts[10].issuer", "contracts[11].number"
    ]  # fmt: skip
    assert not Contract.objects.exists()


def test_an_issuer_without_access_is_refused_as_contract_create_refuses_it(db):
    boss = f.user("boss", is_superuser=True)
    f.user("stranger")
    data = records(2)
    data["contracts"][3]["issuer"] = "stranger"  # --user given: named issuers get no access
    with pytest.raises(ImportFailed) as e:
        import_data(data, user=boss)
    assert [w for w, _ in e.value.errors] == ["contracts[3].issuer"]


def test_without_a_user_every_issuer_named_becomes_an_admin(db):
    f.user("boss", is_superuser=True)
    helper = f.user("helper")
    data = records(2)
    data["contracts"][2]["issuer"] = "helper"
    import_data(data)
    c = Contract.objects.get(number="CTR-B0")
    assert c.issuer == helper and c.company.memberships.get(user=helper).role == "admin"


def test_a_second_import_updates_clients_and_products_in_place(db):
    boss = f.user("boss", is_superuser=True)
    import_data(records(3), user=boss)
    again = records(3)
    again["contracts"] = []
    again["clients"][2]["name"] = "Client 0 SA"
    again["products"][0]["unit_price"] = "59.90"
    rep = import_data(again, user=boss)
    assert rep.created == {} and rep.updated == {"products": 2, "clients": 5}
    assert Client.objects.get(name="Client 0 SA").contracts.get().number == "CTR-B0"
    assert str(Product.objects.get(code="HOST").unit_price) == "59.9000"
    assert Client.objects.count() == 5
