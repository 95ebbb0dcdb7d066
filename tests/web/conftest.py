import pytest
from django.test import Client

from recurent.companies.models import Role
from recurent.companies.services import membership_grant
from tests import factories


@pytest.fixture
def admin_client(world) -> Client:
    c = Client()
    c.force_login(world.user)
    return c


def client_for(world, role: str) -> Client:
    u = factories.user()
    membership_grant(user=u, company=world.company, role=role)
    c = Client()
    c.force_login(u)
    return c


@pytest.fixture
def viewer_client(world) -> Client:
    return client_for(world, Role.VIEWER)


@pytest.fixture
def accountant_client(world) -> Client:
    return client_for(world, Role.ACCOUNTANT)
