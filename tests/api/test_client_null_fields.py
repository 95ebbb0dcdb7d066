"""PATCH with JSON nulls in address fields (schemathesis found a 500 there)."""

from recurent.common import clock
from recurent.companies.api_tokens import api_token_create
from tests import factories as f


def test_a_json_null_address_field_is_an_empty_field_not_a_500(world, client):
    c = f.client(world.company)
    _, raw = api_token_create(user=world.user, company=world.company, name="t", as_of=clock.now())
    r = client.patch(
        f"/api/v1/clients/{c.pk}",
        {"region": None, "county": None},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert r.status_code in (200, 422), r.content
