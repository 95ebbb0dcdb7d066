import pytest


@pytest.fixture
def world(db):
    """A company with its default series REC and an admin user."""
    from tests.factories import setup_company

    c, s, u = setup_company()
    return type("World", (), {"company": c, "series": s, "user": u})
