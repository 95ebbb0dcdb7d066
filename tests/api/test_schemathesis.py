"""Schemathesis against the served OpenAPI schema, in process through the WSGI app.

Every generated request, valid or not: no 5xx, and every response (status code, content
type, headers, body) conforms to the schema. Bounded examples keep it well under a minute.
"""

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from recurent.common import clock
from recurent.companies.api_tokens import api_token_create
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local

app = WSGIHandler()
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def token(db):
    # The WSGI handler closes the database connection after each request; inside the test's
    # transaction that would lose it (Django's test client disconnects these the same way).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        c, _, u = f.setup_company()
        p = f.product(c)
        f.contract(c, issuer=u, lines=[(p, "2")], first=local(2026, 1, 31))
        issue_due(as_of=local(2026, 3, 1, 12))
        _, raw = api_token_create(user=u, company=c, name="schemathesis", as_of=clock.now())
        yield raw
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_the_schema_is_openapi_3_1_and_served_with_offline_docs(client):
    s = client.get("/api/v1/openapi.json").json()
    assert s["openapi"].startswith("3.1")
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    assert client.get("/api/v1/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/v1/docs/assets/..%2Fsettings.py").status_code == 404
    posts = [op for item in s["paths"].values() for m, op in item.items() if m == "post"]
    assert posts and all(
        any(p["name"] == "Idempotency-Key" for p in op.get("parameters", [])) for op in posts
    )


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_generated_requests_get_no_5xx_and_conform_to_the_schema(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
