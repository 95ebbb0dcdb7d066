"""Issue 14 item 7: from the portal a client changes only the lines the company made
self-service, and only within the bounds it set (minimum, maximum, step); anything else is a
clear message on the page, never a 500 and never a change."""

from decimal import Decimal as D
from unittest import mock

import pytest
from django.urls import reverse

from recurent.clients import portal_links as links
from recurent.contracts.models import ContractChange, ContractLine
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local

NOW = local(2026, 2, 5, 12)


@pytest.fixture
def sub(world):
    """A client's contract with a 350 RON/month line the company did not make self-service and
    a per-seat line the client may set from 1 to 10 seats, one at a time."""
    maint = f.product(world.company, unit_price=D("350"), name="Mentenanță")
    seats = f.product(world.company, unit_price=D("20"), name="Utilizatori")
    cl = f.client(world.company)
    c = f.contract(world.company, issuer=world.user, client_=cl, lines=[(maint, "1"), (seats, "2")])
    issue_due(as_of=local(2026, 1, 31, 10))
    fixed, flexible = c.lines.order_by("position")
    ContractLine.objects.filter(pk=flexible.pk).update(
        self_service=True, min_quantity=D("1"), max_quantity=D("10"), quantity_step=D("1")
    )
    return cl, c, fixed, flexible


def post(client, cl, c, data):
    url = reverse("portal:change", kwargs={"token": links.portal_token(cl.pk), "contract_id": c.pk})
    with mock.patch("recurent.common.clock.now", return_value=NOW):
        return client.post(url, data, follow=True)


def open_quantities(c):
    return [li.quantity for li in c.lines.filter(until_index__isnull=True).order_by("position")]


def test_a_line_the_company_did_not_make_self_service_does_not_change(client, sub):
    cl, c, fixed, flexible = sub
    r = post(client, cl, c, {f"qty_{fixed.pk}": "0.0001", f"qty_{flexible.pk}": "2"})
    assert r.status_code == 200
    assert "nu poate fi modificată din portal" in r.content.decode()
    assert open_quantities(c) == [D("1"), D("2")]
    assert not ContractChange.objects.filter(contract=c, action="lines_changed").exists()


def test_the_page_offers_an_input_only_for_self_service_lines(client, sub):
    cl, c, fixed, flexible = sub
    with mock.patch("recurent.common.clock.now", return_value=NOW):
        page = client.get(reverse("portal:home", kwargs={"token": links.portal_token(cl.pk)}))
    html = page.content.decode()
    assert f'name="qty_{flexible.pk}"' in html and f'name="qty_{fixed.pk}"' not in html


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("0.0001", "cel puțin 1"),
        ("11", "cel mult 10"),
        ("2.5", "în pași de 1"),
        ("1e30", "cel mult 10"),
        ("12345678901", "cel mult 10"),
        ("NaN", "nu este un număr"),
        ("-3", "mai mare decât zero"),
        ("abc", "nu este un număr"),
        ("0", "mai mare decât zero"),
    ],
)
def test_quantities_outside_the_bounds_get_a_clear_message(client, sub, typed, says):
    cl, c, fixed, flexible = sub
    r = post(client, cl, c, {f"qty_{flexible.pk}": typed})
    assert r.status_code == 200
    assert says in r.content.decode()
    assert open_quantities(c) == [D("1"), D("2")]


def test_a_quantity_within_the_bounds_is_taken_from_the_next_period(client, sub):
    cl, c, fixed, flexible = sub
    r = post(client, cl, c, {f"qty_{fixed.pk}": "1", f"qty_{flexible.pk}": "7"})
    assert r.status_code == 200
    assert open_quantities(c) == [D("1"), D("7")]
    new = c.lines.get(until_index__isnull=True, product=flexible.product)
    # The bounds go with the line into the next period.
    assert (new.self_service, new.min_quantity, new.max_quantity, new.quantity_step) == (
        True, D("1"), D("10"), D("1"),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("typed", "says"),
    [("1e30", "prea mare"), ("12345678901", "prea mare"), ("0.00001", "cel mult 4 zecimale")],
)
def test_without_bounds_a_quantity_the_database_cannot_hold_is_refused(client, sub, typed, says):
    cl, c, fixed, flexible = sub
    ContractLine.objects.filter(pk=flexible.pk).update(
        min_quantity=None, max_quantity=None, quantity_step=None
    )
    r = post(client, cl, c, {f"qty_{flexible.pk}": typed})
    assert r.status_code == 200 and says in r.content.decode()
    assert open_quantities(c) == [D("1"), D("2")]


def _contract_body(world, p, cl, **over):
    body = {
        "client": cl.pk, "number": "CTR-P", "signed_on": "2026-01-05", "first_issue_at": "2026-01-31T09:00",
        "ends_at": "", "series": world.series.pk, "issuer": world.user.pk, "cycle": "monthly", "every_days": "",
        "payment_term_days": "15", "currency": "RON", "invoice_currency": "RON",
        "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0",
        "lines-0-product": p.pk, "lines-0-quantity": "2", "lines-0-unit_price": "",
        "lines-0-portal": "on", "lines-0-portal_min": "1", "lines-0-portal_max": "10",
        "lines-0-portal_step": "0,5",
    }  # fmt: skip
    body.update(over)
    return body


def test_the_company_sets_the_bounds_on_the_contract_form(world):
    from recurent.contracts.models import Contract
    from tests.web.conftest import login

    p, cl = f.product(world.company), f.client(world.company)
    browser = login(world.user)
    r = browser.post(reverse("web:contract-add"), _contract_body(world, p, cl))
    assert r.status_code == 302, r.content.decode()[:2000]
    line = Contract.objects.get(number="CTR-P").lines.get()
    assert (line.self_service, line.min_quantity, line.max_quantity, line.quantity_step) == (
        True, D("1"), D("10"), D("0.5"),
    )  # fmt: skip
    page = browser.get(reverse("web:contract-edit", args=[line.contract_id])).content.decode()
    assert 'name="lines-0-portal" id="id_lines-0-portal" checked' in page


def test_a_maximum_below_the_minimum_is_refused_next_to_the_line(world):
    from recurent.contracts.models import Contract
    from tests.web.conftest import login

    p, cl = f.product(world.company), f.client(world.company)
    r = login(world.user).post(
        reverse("web:contract-add"),
        _contract_body(world, p, cl, **{"lines-0-portal_min": "5", "lines-0-portal_max": "2"}),
    )
    assert r.status_code == 200 and not Contract.objects.filter(number="CTR-P").exists()
    assert "nu poate fi mai mică decât cantitatea minimă" in r.content.decode()
