"""Counts that would read every invoice are capped (bench/web.py at 1,000,000 invoices, issue 22):
the invoice list counts at most COUNT_CAP rows ("of N+"), the series page at most SERIES_COUNT_CAP
invoices per series."""

import pytest
from django.urls import reverse

from recurent.invoices.services import issue_due
from recurent.web.views import invoices as invoice_views
from recurent.web.views import nomenclators
from tests import factories as f
from tests.factories import local
from tests.web.conftest import login


@pytest.fixture
def web(world):
    """Logged in, with three invoices in the default series."""
    for _ in range(3):
        f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 1, 31, 10))
    return login(world.user)


def _page(web, name):
    return web.get(reverse(name)).content.decode()


def test_the_invoice_list_counts_up_to_its_cap(web, monkeypatch):
    assert "1–3 din 3</span>" in _page(web, "web:invoices")
    monkeypatch.setattr(invoice_views, "COUNT_CAP", 2)
    assert "1–2 din 2+</span>" in _page(web, "web:invoices")


def test_the_series_page_counts_each_series_up_to_its_cap(web, monkeypatch):
    assert '<td class="num">3</td>' in _page(web, "web:series")
    monkeypatch.setattr(nomenclators, "SERIES_COUNT_CAP", 2)
    assert '<td class="num">2+</td>' in _page(web, "web:series")
