"""A contract's late-payment interest and missing-readings choice through the API (issue 19:
each feature on the web form, in the API and in the import format)."""

from __future__ import annotations

from decimal import Decimal

from recurent.contracts.models import Contract
from tests import factories as f
from tests.api.test_contracts_and_invoices import _contract_body


def test_interest_and_missing_usage_are_created_patched_read_and_audited(world, admin_api):
    client, product = f.client(world.company), f.product(world.company)
    body = _contract_body(world, client.pk, product.pk, interest_rule="contractual",
                          interest_daily_percent="0.05", missing_usage="default")  # fmt: skip
    r = admin_api.post("/contracts", body)
    assert r.status_code == 201, r.content
    out = r.json()
    assert (out["interest_rule"], out["interest_daily_percent"], out["missing_usage"]) == (
        "contractual", "0.0500", "default")  # fmt: skip
    c = Contract.objects.get(pk=out["id"])
    assert (c.interest_rule, c.interest_daily_percent) == ("contractual", Decimal("0.0500"))
    # Changed by PATCH, in the contract's history; what is left out stays.
    p = admin_api.patch(f"/contracts/{c.pk}", {"interest_rule": "none"})
    assert p.status_code == 200 and p.json()["interest_rule"] == "none"
    assert p.json()["missing_usage"] == "default"
    assert c.changes.filter(action="updated", changes__has_key="interest_rule").exists()
    # Left out on create: as the company, waiting for readings (the web form's defaults).
    plain = admin_api.post("/contracts", _contract_body(world, client.pk, product.pk, number="C2"))
    assert (plain.json()["interest_rule"], plain.json()["missing_usage"]) == ("", "wait")


def test_bad_values_are_refused_naming_the_field(world, admin_api):
    client, product = f.client(world.company), f.product(world.company)
    for field, value in [("interest_rule", "whenever"), ("missing_usage", "later"),
                         ("interest_daily_percent", "-1"), ("interest_daily_percent", "0.00001")]:  # fmt: skip
        r = admin_api.post(
            "/contracts", _contract_body(world, client.pk, product.pk, **{field: value})
        )
        assert r.status_code == 422 and field in r.content.decode(), (field, r.content)
    assert not Contract.objects.exists()


def _put(api, body):  # type: ignore[no-untyped-def]
    import json

    return api.http.put("/api/v1/company/interest", json.dumps(body),
                        content_type="application/json", headers=api._headers(None))  # fmt: skip


def test_the_companys_interest_settings_are_read_by_all_and_set_by_an_administrator(
    world, admin_api, viewer_api
):
    before = admin_api.get("/company/interest").json()
    assert before["interest_enabled"] is False and before["interest_rule"] == "legal"
    body = {"interest_enabled": True, "interest_rule": "contractual",
            "interest_daily_percent": "0.1", "interest_min_amount": "5"}  # fmt: skip
    r = _put(admin_api, body)
    assert r.status_code == 200, r.content
    assert r.json() == {"interest_enabled": True, "interest_rule": "contractual",
                        "interest_daily_percent": "0.1000", "interest_min_amount": "5.00"}  # fmt: skip
    assert viewer_api.get("/company/interest").json() == r.json()
    assert _put(viewer_api, {**body, "interest_enabled": False}).status_code == 403
    # A contractual rule without a rate: refused by the settings page's own check, nothing saved.
    bad = _put(admin_api, {**body, "interest_daily_percent": None})
    assert bad.status_code == 422 and "interest_daily_percent" in bad.content.decode()
    world.company.refresh_from_db()
    assert world.company.interest_daily_percent == Decimal("0.1000")
