"""Lists: a constant number of queries per page, and bearer-token POSTs need no CSRF cookie."""

import json

from django.db import connection
from django.test import Client as DjangoClient
from django.test.utils import CaptureQueriesContext

from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local


def _queries(api, path):
    with CaptureQueriesContext(connection) as q:
        assert api.get(path).status_code == 200
    return len(q.captured_queries)


def test_list_pages_cost_the_same_queries_for_2_or_8_rows(world, admin_api):
    for _ in range(2):
        f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 1, 31, 10))
    admin_api.get("/products")  # the token's last_used is written at most once a minute: now
    small = {p: _queries(admin_api, p) for p in ("/invoices", "/contracts", "/payments")}
    for _ in range(6):
        f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 1, 31, 10))
    big = {p: _queries(admin_api, p) for p in ("/invoices", "/contracts", "/payments")}
    assert small == big


def test_a_token_post_needs_no_csrf_cookie(world, admin_api):
    strict = DjangoClient(enforce_csrf_checks=True)
    r = strict.post(
        "/api/v1/products",
        json.dumps({"code": "C1", "name": "n", "unit_price": "1"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {admin_api.token}"},
    )
    assert r.status_code == 201, r.content
