"""Contract form (issue 16, item 1): every error shows in a banner in words, the tabs holding errors
are marked, and line errors name the line, not ``lines[1].quantity``."""

import html
import re

from django.urls import reverse

from recurent.contracts.models import Contract
from tests import factories as f


def _body(world, p, **over):
    cl = f.client(world.company)
    body = {
        "client": cl.pk, "number": "CTR-E", "signed_on": "2026-01-05", "first_issue_at": "2026-01-31T09:00",
        "ends_at": "", "series": world.series.pk, "issuer": world.user.pk, "cycle": "monthly", "every_days": "",
        "payment_term_days": "15", "currency": "RON", "invoice_currency": "RON",
        "lines-TOTAL_FORMS": "2", "lines-INITIAL_FORMS": "0",
        "lines-0-product": p.pk, "lines-0-quantity": "1", "lines-0-unit_price": "",
        "lines-1-product": p.pk, "lines-1-quantity": "0", "lines-1-unit_price": "",
    }  # fmt: skip
    body.update(over)
    return body


def _banner(page: str) -> list[str]:
    m = re.search(r'<div class="alert alert-error error-summary".*?</div>', page, re.S)
    assert m, "no error banner"
    return [html.unescape(re.sub(r"<[^>]+>", "", li)) for li in re.findall(r"<li>(.*?)</li>", m[0])]


def test_a_line_error_is_named_by_line_in_the_banner_and_marks_the_products_tab(
    admin_client, world
):
    p = f.product(world.company)
    r = admin_client.post(reverse("web:contract-add"), _body(world, p))
    page = r.content.decode()
    assert r.status_code == 200 and not Contract.objects.filter(number="CTR-E").exists()
    items = _banner(page)
    assert items == ["Linia 2, Cantitate: trebuie să fie mai mare decât zero"], items
    assert "lines[" not in page
    assert re.search(r'data-tab="tab-products" class="tab-error"', page)
    assert not re.search(r'data-tab="tab-general" class="tab-error"', page)


def test_errors_on_two_tabs_are_all_listed_and_an_empty_every_n_days_is_said_in_words(
    admin_client, world
):
    p = f.product(world.company)
    body = _body(
        world, p, cycle="days", every_days="", first_issue_at="", **{"lines-1-quantity": "1"}
    )
    page = admin_client.post(reverse("web:contract-add"), body).content.decode()
    items = _banner(page)
    assert len(items) == 2, items
    assert any(i.startswith("Prima factură la:") for i in items), items
    assert any("numărul de zile" in i for i in items), items
    assert "got None" not in page and "None" not in "".join(items)
    assert re.search(r'data-tab="tab-general" class="tab-error"', page)
    assert re.search(r'data-tab="tab-billing" class="tab-error"', page)


def test_a_valid_contract_shows_no_banner(admin_client, world):
    p = f.product(world.company)
    r = admin_client.post(reverse("web:contract-add"), _body(world, p, **{"lines-1-quantity": "2"}))
    assert r.status_code == 302
    page = admin_client.get(reverse("web:contract-add")).content.decode()
    assert "error-summary" not in page and "tab-error" not in page
