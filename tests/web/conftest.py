import pytest
from django.test import Client

from recurent.companies.models import Role
from recurent.companies.services import membership_grant
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.efactura.conftest import anaf, connected  # noqa: F401  (the fake ANAF, for e-Factura pages)
from tests.factories import local


@pytest.fixture(autouse=True)
def _billing_inline(monkeypatch):
    # The test's transaction is invisible to another thread: run billing jobs in the request.
    monkeypatch.setattr("recurent.web.views.billing.RUN_INLINE", True)


def login(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def client_for(world, role: str) -> Client:
    u = f.user()
    membership_grant(user=u, company=world.company, role=role)
    return login(u)


@pytest.fixture
def admin_client(world) -> Client:
    return login(world.user)


@pytest.fixture
def viewer_client(world) -> Client:
    return client_for(world, Role.VIEWER)


@pytest.fixture
def accountant_client(world) -> Client:
    return client_for(world, Role.ACCOUNTANT)


@pytest.fixture
def data(world):
    """A product, a client, an active monthly contract and two issued invoices."""
    p = f.product(world.company, code="HOST", name="Găzduire", unit_price="250.00")
    cl = f.client(world.company, name="Client Unu SRL")
    c = f.contract(
        world.company, issuer=world.user, client_=cl, lines=[(p, "2")], first=local(2026, 1, 31)
    )
    issue_due(as_of=local(2026, 2, 28, 10, 0))
    return type(
        "Data",
        (),
        {
            "product": p,
            "client": cl,
            "contract": c,
            "invoice": c.invoices.order_by("number").first(),
        },
    )


@pytest.fixture
def other_company():
    """A second company with its own data, which the first company's users must never reach."""
    c = f.company(legal_name="Alta Firma SRL", cui="RO14399840")
    f.series(c, code="ALT")
    u = f.user()
    membership_grant(user=u, company=c, role=Role.ADMIN)
    p = f.product(c)
    cl = f.client(c)
    k = f.contract(c, issuer=u, client_=cl, lines=[(p, "1")], first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 1, 31, 10, 0), company_id=c.pk)
    return type(
        "Other",
        (),
        {
            "company": c,
            "user": u,
            "product": p,
            "client": cl,
            "contract": k,
            "invoice": k.invoices.first(),
        },
    )
