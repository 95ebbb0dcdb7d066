import json

import pytest
from django.test import Client as DjangoClient

from recurent.common import clock
from recurent.companies.api_tokens import api_token_create
from recurent.companies.models import Role
from recurent.companies.services import membership_grant
from tests import factories as f


class Api:
    """The Django test client speaking JSON with a bearer token."""

    def __init__(self, raw_token: str | None) -> None:
        self.http = DjangoClient()
        self.token = raw_token

    def _headers(self, extra):
        h = {}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        h.update(extra or {})
        return h

    def get(self, path, params=None, headers=None):
        return self.http.get("/api/v1" + path, params or {}, headers=self._headers(headers))

    def post(self, path, body=None, headers=None):
        return self.http.post(
            "/api/v1" + path,
            json.dumps(body if body is not None else {}),
            content_type="application/json",
            headers=self._headers(headers),
        )

    def patch(self, path, body, headers=None):
        return self.http.patch(
            "/api/v1" + path,
            json.dumps(body),
            content_type="application/json",
            headers=self._headers(headers),
        )


def token_for(user, company, name="test"):
    return api_token_create(user=user, company=company, name=name, as_of=clock.now())


@pytest.fixture
def admin_api(world):
    _, raw = token_for(world.user, world.company)
    return Api(raw)


@pytest.fixture
def viewer_api(world):
    u = f.user()
    membership_grant(user=u, company=world.company, role=Role.VIEWER)
    _, raw = token_for(u, world.company)
    return Api(raw)


@pytest.fixture
def accountant_api(world):
    u = f.user()
    membership_grant(user=u, company=world.company, role=Role.ACCOUNTANT)
    _, raw = token_for(u, world.company)
    return Api(raw)
