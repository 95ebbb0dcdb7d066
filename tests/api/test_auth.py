"""Tokens act as their user in their company, with the user's role, and nothing more."""

from recurent.catalog.models import Product
from recurent.common import clock
from recurent.companies.api_tokens import api_token_revoke
from recurent.companies.models import ApiToken, Membership, Role
from recurent.companies.services import membership_grant
from tests import factories as f

from .conftest import Api, token_for

PRODUCT = {"code": "NET100", "name": "Internet 100 Mbps", "unit_price": "49.90", "unit_code": "MON"}


def test_the_token_is_stored_hashed_and_shown_once(world):
    token, raw = token_for(world.user, world.company)
    assert raw.startswith(f"rct_{token.prefix}_")
    row = ApiToken.objects.get()
    assert raw not in (row.hash, row.prefix) and len(row.hash) == 64


def test_no_token_or_a_wrong_one_is_a_401_problem(world):
    for api in (Api(None), Api("rct_deadbeef_nope"), Api("garbage")):
        r = api.get("/products")
        assert r.status_code == 401
        assert r["Content-Type"] == "application/problem+json"
        assert r.json()["code"] == "unauthenticated"


def test_a_revoked_token_is_refused(world):
    token, raw = token_for(world.user, world.company)
    api = Api(raw)
    assert api.get("/products").status_code == 200
    api_token_revoke(token=token, as_of=clock.now())
    assert api.get("/products").status_code == 401


def test_a_viewer_token_reads_but_cannot_write(world, viewer_api):
    f.product(world.company)
    assert viewer_api.get("/products").json()["count"] == 1
    r = viewer_api.post("/products", PRODUCT)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert Product.objects.count() == 1


def test_an_accountant_token_writes(world, accountant_api):
    r = accountant_api.post("/products", PRODUCT)
    assert r.status_code == 201, r.content
    assert Product.objects.get(code="NET100").company == world.company


def test_the_role_is_the_users_role_now_not_when_the_token_was_made(world):
    u = f.user()
    membership_grant(user=u, company=world.company, role=Role.ACCOUNTANT)
    _, raw = token_for(u, world.company)
    api = Api(raw)
    assert api.post("/products", PRODUCT).status_code == 201
    membership_grant(user=u, company=world.company, role=Role.VIEWER)
    assert api.post("/products", {**PRODUCT, "code": "X2"}).status_code == 403
    Membership.objects.filter(user=u).delete()
    assert api.get("/products").status_code == 401


def test_another_companys_objects_do_not_exist(world, admin_api):
    other = f.company(legal_name="Other SRL")
    f.series(other, code="OTH")
    theirs = f.product(other)
    client = f.client(other)
    assert admin_api.get(f"/products/{theirs.pk}").status_code == 404
    assert admin_api.get(f"/clients/{client.pk}").status_code == 404
    r = admin_api.patch(f"/products/{theirs.pk}", {"name": "stolen"})
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert admin_api.get("/products").json()["count"] == 0


def test_webhook_endpoints_need_an_administrator(world, accountant_api, admin_api):
    r = accountant_api.get("/webhooks/endpoints")
    assert r.status_code == 403
    assert admin_api.get("/webhooks/endpoints").status_code == 200
