import pytest
from hypothesis import settings

# Property tests check results, not speed: on a 2-core machine running the suite in two xdist
# processes (and other work), a 200 ms per-example deadline fails at random.
settings.register_profile("recurent", deadline=None)
settings.load_profile("recurent")


@pytest.fixture
def world(db):
    """A company with its default series REC and an admin user."""
    from tests.factories import setup_company

    c, s, u = setup_company()
    return type("World", (), {"company": c, "series": s, "user": u})


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language (Romanian): Django's locale middleware leaves
    the last request's language active in the thread, which would leak into the next test."""
    from django.utils import translation

    translation.activate("ro")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _render_scan_from_start():
    """The documents worker remembers, per process, where its search for invoices without an
    XML starts (documents.services._scan_from). A test's rolled-back invoices give their ids
    back on SQLite, so the next test starts from the first invoice, as a new process does."""
    from recurent.documents import services

    services._scan_from.clear()


@pytest.fixture
def english():
    """Service errors in English, as the API and the command line show them (a module that
    asserts those texts uses it; screens are tested in Romanian)."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.activate("ro")
