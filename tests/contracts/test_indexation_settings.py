"""Yearly indexation settings where people set them: the contract form, the API, the CPI table
in the company's settings; and the client's portal showing the price change."""

from datetime import date
from decimal import Decimal

from django.urls import reverse

from recurent.clients.portal_links import portal_token
from recurent.common import clock
from recurent.contracts.indexation import indexation_tick
from recurent.contracts.models import ContractChange, ContractIndexation
from recurent.engine.cycles import BUCHAREST
from recurent.invoices.services import issue_due
from recurent.rates.models import InflationRate
from tests import factories as f
from tests.factories import local
from tests.web.conftest import login


def _form_body(page, c, user, **extra):
    body = {k: ("" if v is None else v) for k, v in page.context["form"].initial.items()}
    line = c.lines.get()
    body.update({
        "first_issue_at": c.first_issue_at.astimezone(BUCHAREST).strftime("%Y-%m-%dT%H:%M"),
        "signed_on": c.signed_on.isoformat(), "client": c.client_id, "series": c.series_id,
        "issuer": user.pk, "cycle": c.cycle, "currency": "RON", "invoice_currency": "RON",
        "ends_at": "", "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0",
        # A quantity other than the blank form's 1, or the formset counts the line as empty.
        "lines-0-product": line.product_id, "lines-0-quantity": "2",
    })  # fmt: skip
    body.update(extra)
    return body


def test_the_contract_form_saves_the_indexation_and_the_history_says_so(world):
    c = f.contract(world.company, issuer=world.user)
    url = reverse("web:contract-edit", args=[c.pk])
    page = login(world.user).get(url)
    assert "index_method" in page.content.decode()
    body = _form_body(page, c, world.user, index_method="fixed", index_percent="5,5",
                      index_notice_days="45")  # fmt: skip
    r = login(world.user).post(url, body)
    assert r.status_code == 302, r.content.decode()[:2000]
    c.refresh_from_db()
    assert (c.index_method, c.index_percent, c.index_notice_days) == ("fixed", Decimal("5.5"), 45)
    change = ContractChange.objects.filter(contract=c, action="updated").latest("pk")
    assert change.changes["index_method"] == ["none", "fixed"]


def test_the_form_says_in_romanian_that_a_fixed_indexation_needs_its_percentage(world):
    c = f.contract(world.company, issuer=world.user)
    url = reverse("web:contract-edit", args=[c.pk])
    page = login(world.user).get(url)
    r = login(world.user).post(url, _form_body(page, c, world.user, index_method="fixed"))
    assert r.status_code == 200
    assert "dați procentul anual" in r.content.decode()
    c.refresh_from_db()
    assert c.index_method == "none"


def test_the_api_sets_and_shows_the_indexation_and_refuses_a_bad_one_with_its_code(
    world, admin_api
):
    c = f.contract(world.company, issuer=world.user)
    r = admin_api.patch(f"/contracts/{c.pk}", {"index_method": "cpi", "index_date_rule": "fixed",
                                                "index_day": 1, "index_month": 3})  # fmt: skip
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["index_method"], body["index_day"], body["index_month"]) == ("cpi", 1, 3)
    assert body["index_notice_days"] == 30
    r = admin_api.patch(f"/contracts/{c.pk}", {"index_method": "fixed"})
    assert r.status_code in (400, 422)
    assert "index_percent" in r.content.decode() and "required" in r.content.decode()
    r = admin_api.patch(f"/contracts/{c.pk}", {"index_method": "fixed", "index_percent": 5.5})
    assert r.status_code in (400, 422)  # a float is refused: "5.50"
    c.refresh_from_db()
    assert c.index_method == "cpi"


def test_the_company_enters_the_new_cpi_figure_in_its_settings(world):
    url = reverse("web:inflation-rates")
    page = login(world.user).get(url)
    assert (
        page.status_code == 200 and "9,69" in page.content.decode()
    )  # shipped 2025, shown in Romanian
    r = login(world.user).post(url, {"year": "2026", "percent": "4.35"})
    assert r.status_code == 302
    assert InflationRate.objects.get(company=world.company, year=2026).percent == Decimal("4.35")
    r = login(world.user).post(url, {"year": "2026", "percent": "4.355"})
    assert r.status_code == 200 and "cel mult 2 zecimale" in r.content.decode()
    r = login(world.user).post(reverse("web:inflation-rate-remove", args=[2026]))
    assert not InflationRate.objects.filter(company=world.company).exists()


def test_a_viewer_cannot_change_the_cpi_table(world):
    viewer = f.user()
    from recurent.companies.models import Membership

    Membership.objects.create(user=viewer, company=world.company, role="viewer")
    r = login(viewer).post(reverse("web:inflation-rates"), {"year": "2026", "percent": "4"})
    assert r.status_code in (302, 403)
    assert not InflationRate.objects.filter(company=world.company).exists()


def test_the_portal_shows_the_old_and_new_prices(world):
    c = f.contract(world.company, issuer=world.user, index_method="fixed", index_percent="5")
    indexation_tick(as_of=local(2026, 12, 2))
    r = login(world.user).get(reverse("portal:home", args=[portal_token(c.client_id)]))
    html = r.content.decode()
    assert "Modificări de preț" in html
    assert "100.0000 RON" in html and "105.0000 RON" in html
    assert date(2027, 1, 1).strftime("%d.%m.%Y") in html


def test_the_contract_history_shows_the_indexation_with_the_figure_used(world):
    c = f.contract(world.company, issuer=world.user, index_method="fixed", index_percent="5")
    indexation_tick(as_of=local(2026, 12, 2))
    indexation_tick(as_of=local(2027, 1, 1, 1))
    html = login(world.user).get(reverse("web:contract", args=[c.pk])).content.decode()
    assert "Indexare anuală anunțată clientului" in html and "Prețuri indexate" in html
    assert "100.0000 → 105.0000" in html and "5.00 %" in html


def test_the_next_invoices_show_the_new_amounts_after_the_day_once_announced(world, monkeypatch):
    # Announced on 2 December for 1 January: the invoices from 31 January 2027 are priced at
    # 105 (127,05 with 21 % VAT), those before at 100 (121,00); nothing is written before the day.
    c = f.contract(world.company, issuer=world.user, index_method="fixed", index_percent="5")
    issue_due(as_of=local(2026, 12, 2, 10))
    indexation_tick(as_of=local(2026, 12, 2, 10))
    lines = list(c.lines.values_list("pk", "unit_price", "until_index"))
    monkeypatch.setattr(clock, "now", lambda: local(2026, 12, 2, 11))
    html = login(world.user).get(reverse("web:contract", args=[c.pk])).content.decode()
    totals = html.split('class="num upcoming-total">')[1:4]
    assert [t.split("<")[0].split()[0] for t in totals] == ["121,00", "127,05", "127,05"]
    assert list(c.lines.values_list("pk", "unit_price", "until_index")) == lines
    assert ContractIndexation.objects.get(contract=c).applied_at is None


def test_the_cpi_table_is_in_the_admin(world):
    boss = f.user(is_superuser=True, is_staff=True)
    r = login(boss).get("/admin/rates/inflationrate/")
    assert r.status_code == 200 and "16.37" in r.content.decode()
