"""Idempotency-Key: the same key and body answer the first result; another body is a 409."""

import threading
import time

import pytest
from django.db import OperationalError, connection

from recurent.api.models import IdempotencyKey
from recurent.catalog.models import Product

from .conftest import Api, token_for

BODY = {"code": "NET100", "name": "Internet 100 Mbps", "unit_price": "49.90"}


def test_the_same_key_and_body_return_the_first_result_and_act_once(admin_api):
    first = admin_api.post("/products", BODY, headers={"Idempotency-Key": "k-1"})
    again = admin_api.post("/products", BODY, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Product.objects.count() == 1


def test_the_same_key_with_another_body_is_a_409(admin_api):
    assert admin_api.post("/products", BODY, headers={"Idempotency-Key": "k-2"}).status_code == 201
    r = admin_api.post("/products", {**BODY, "code": "OTHER"}, headers={"Idempotency-Key": "k-2"})
    assert r.status_code == 409
    assert r["Content-Type"] == "application/problem+json"
    assert r.json()["code"] == "idempotency_key_reused"
    assert Product.objects.count() == 1


def test_a_failed_request_does_not_use_up_the_key(admin_api):
    bad = admin_api.post(
        "/products", {**BODY, "vat_rate": "zero"}, headers={"Idempotency-Key": "k-3"}
    )
    assert bad.status_code == 422  # S with a zero rate is refused by the catalogue service
    assert not IdempotencyKey.objects.exists()
    ok = admin_api.post("/products", BODY, headers={"Idempotency-Key": "k-3"})
    assert ok.status_code == 201


def test_keys_belong_to_their_token(world, admin_api):
    _, raw = token_for(world.user, world.company, name="second")
    other = Api(raw)
    assert admin_api.post("/products", BODY, headers={"Idempotency-Key": "same"}).status_code == 201
    r = other.post("/products", {**BODY, "code": "B"}, headers={"Idempotency-Key": "same"})
    assert r.status_code == 201 and Product.objects.count() == 2


def test_without_a_key_every_post_acts(admin_api):
    assert admin_api.post("/products", BODY).status_code == 201
    assert admin_api.post("/products", BODY).status_code in (409, 422)  # the code is taken now


def test_a_bad_key_is_a_422(admin_api):
    r = admin_api.post("/products", BODY, headers={"Idempotency-Key": "x" * 300})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "Idempotency-Key"


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_act_once():
    from tests.factories import setup_company

    c, _, u = setup_company()
    _, raw = token_for(u, c)
    barrier = threading.Barrier(4)
    results = []

    def send():
        try:
            barrier.wait()
            for _ in range(200):
                try:
                    r = Api(raw).post("/products", BODY, headers={"Idempotency-Key": "race"})
                    break
                except OperationalError as e:
                    # SQLite's in-memory test database has table locks that do not wait (the
                    # file database of production waits 60 s); wait here the same way.
                    assert "locked" in str(e)
                    time.sleep(0.01)
            results.append((r.status_code, r.content))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    assert Product.objects.count() == 1
    assert {s for s, _ in results} == {201}
    assert len({body for _, body in results}) == 1
