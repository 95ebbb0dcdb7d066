"""POST/GET/DELETE /api/v1/contracts/{id}/discounts: stored, listed, priced, removed."""

from decimal import Decimal

from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local


def _contract(world):  # type: ignore[no-untyped-def]
    p = f.product(world.company, unit_price=Decimal("80"), vat_rate="standard")
    return f.contract(world.company, issuer=world.user, lines=[(p, "1")], first=local(2026, 1, 31))


def _delete(api, path):  # type: ignore[no-untyped-def]
    return api.http.delete("/api/v1" + path, headers={"Authorization": f"Bearer {api.token}"})


def test_a_discount_added_through_the_api_is_on_the_invoices(world, admin_api, viewer_api):
    c = _contract(world)
    body = {"kind": "percent", "value": "25", "reason": "Lansare", "periods": 1}
    key = {"Idempotency-Key": "disc-1"}
    r = admin_api.post(f"/contracts/{c.pk}/discounts", body, headers=key)
    assert r.status_code == 201, r.content
    again = admin_api.post(f"/contracts/{c.pk}/discounts", body, headers=key)
    assert again.json() == r.json()  # the same key: the first answer, no second discount
    assert r.json()["value"] == "25.0000" and r.json()["from_index"] == 0
    assert viewer_api.post(f"/contracts/{c.pk}/discounts", body).status_code == 403
    listed = admin_api.get(f"/contracts/{c.pk}/discounts").json()
    assert [(d["reason"], d["periods"]) for d in listed] == [("Lansare", 1)]

    issue_due(as_of=local(2026, 2, 28, 12))
    nets = (
        Invoice.objects.filter(contract=c)
        .order_by("period_index")
        .values_list("net_total", flat=True)
    )
    assert list(nets) == [Decimal("60.00"), Decimal("80.00")]


def test_bad_discounts_are_problems_naming_the_field(world, admin_api):
    c = _contract(world)
    r = admin_api.post(f"/contracts/{c.pk}/discounts", {"value": "120", "reason": "x"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "value"
    assert r.json()["errors"][0]["code"] == "percentage_out_of_range"
    r = admin_api.post(
        f"/contracts/{c.pk}/discounts", {"value": "5", "reason": "x", "line_position": 4}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "unknown_line"


def test_a_removed_discount_is_not_applied_and_is_gone_for_other_companies(world, admin_api):
    c = _contract(world)
    body = {"kind": "amount", "value": "30", "reason": "Fidelitate"}
    d = admin_api.post(f"/contracts/{c.pk}/discounts", body).json()
    assert _delete(admin_api, f"/contracts/{c.pk}/discounts/{d['id']}").status_code == 204
    assert _delete(admin_api, f"/contracts/{c.pk}/discounts/{d['id']}").status_code == 404
    assert admin_api.get(f"/contracts/{c.pk}/discounts").json() == []
    other_c, _, other_u = f.setup_company()
    theirs = f.contract(other_c, issuer=other_u)
    assert admin_api.get(f"/contracts/{theirs.pk}/discounts").status_code == 404
    issue_due(as_of=local(2026, 1, 31, 12))
    assert Invoice.objects.get(contract=c).net_total == Decimal("80.00")
