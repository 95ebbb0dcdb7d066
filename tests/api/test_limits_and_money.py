"""Issue 14, also: a body over the limit is a 413 problem (not a 500), and money and quantities
are strings of ASCII digits or integers only (as the importer takes them)."""

import json

import pytest

from recurent.catalog.models import Product


def product_body(price):
    return {"code": "P-1", "name": "Abonament", "unit_code": "MON", "unit_name": "lună",
            "unit_price": price, "vat_category": "S", "vat_rate": "standard"}  # fmt: skip


def test_a_body_over_the_limit_is_a_413_problem(world, admin_api, settings):
    big = {"code": "X", "name": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)}
    r = admin_api.post("/products", big)
    assert r.status_code == 413
    assert r["Content-Type"] == "application/problem+json"
    assert r.json()["code"] == "payload_too_large" and r.json()["status"] == 413


@pytest.mark.parametrize(
    "price",
    [12.5, 0.1, True, "١٢٣", "۱۲۳", "１２", "1e3", "12,50", "NaN", " ", "12.5.1"],
    ids=["float", "float-0.1", "bool", "arabic-indic", "persian", "fullwidth", "exponent",
         "comma", "nan", "blank", "two-points"],
)  # fmt: skip
def test_money_that_is_not_a_string_of_ascii_digits_or_an_integer_is_refused(
    world, admin_api, price
):
    r = admin_api.post("/products", product_body(price))
    assert r.status_code == 422, r.content
    assert r.json()["errors"][0]["field"] == "unit_price"
    assert not Product.objects.exists()


@pytest.mark.parametrize(("price", "stored"), [("12.50", "12.5"), (12, "12"), ("0", "0")])
def test_money_as_a_string_or_an_integer_is_taken(world, admin_api, price, stored):
    r = admin_api.post("/products", product_body(price))
    assert r.status_code == 201, r.content
    assert Product.objects.get().unit_price.normalize() == type(Product.objects.get().unit_price)(
        stored
    )


def test_a_float_quantity_in_a_contract_line_is_refused(world, admin_api):
    from tests import factories as f

    p, cl = f.product(world.company), f.client(world.company)
    body = {"client_id": cl.pk, "number": "A-1", "signed_on": "2026-01-01",
            "first_issue_at": "2026-01-31T09:00:00+02:00",
            "lines": [{"product_id": p.pk, "quantity": 1.5}]}  # fmt: skip
    r = admin_api.post("/contracts", body)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "lines.0.quantity"


def test_the_schema_says_money_is_a_string_or_an_integer(client):
    schema = json.loads(client.get("/api/v1/openapi.json").content)
    price = schema["components"]["schemas"]["ProductIn"]["properties"]["unit_price"]
    assert {t.get("type") for t in price["anyOf"]} == {"string", "integer"}
