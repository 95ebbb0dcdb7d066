"""Addresses (issue 16, item 5): "București" with a sector picker or "Sector 3" / "sectorul 3" /
"S3" typed; the county is required (and marked) for Romania only; a foreign address keeps a
free-text region; errors in Romanian, each once."""

import html
import re

import pytest
from django.urls import reverse

from recurent.clients.models import Client
from recurent.companies.models import Company


def _post(client, **over):
    body = {
        "kind": "company", "name": "Beta SRL", "tax_id": "RO14399840", "street": "Str. Lungă 1",
        "city": "Brașov", "county": "RO-BV", "sector": "", "postal_code": "", "country": "RO",
        "region": "", "emails": "office@beta.ro", "iban": "", "bank": "", "payment_term_days": "15",
        "notes": "",
    }  # fmt: skip
    body.update(over)
    return client.post(reverse("web:client-add"), body)


def _errors(response) -> list[str]:
    page = html.unescape(response.content.decode())
    return re.findall(r'<ul class="errorlist" id="id_(\w+)_error"><li>(.*?)</li>', page)


def test_bucuresti_with_the_sector_picker_is_saved_as_the_sector(admin_client, world):
    r = _post(admin_client, city="București", county="RO-B", sector="3")
    assert r.status_code == 302, _errors(r)
    c = Client.objects.get(name="Beta SRL")
    assert (c.county, c.city) == ("RO-B", "SECTOR3")
    # Editing shows it back as București + sector 3.
    page = admin_client.get(reverse("web:client-edit", args=[c.pk])).content.decode()
    assert 'value="București"' in page and re.search(r'<option value="3" selected>', page)


@pytest.mark.parametrize("typed", ["Sector 3", "sectorul 3", "S3"])
def test_the_sector_typed_in_the_city_is_understood(admin_client, world, typed):
    r = _post(admin_client, city=typed, county="B")
    assert r.status_code == 302, _errors(r)
    assert Client.objects.get(name="Beta SRL").city == "SECTOR3"


def test_bucuresti_without_a_sector_asks_for_it_in_romanian(admin_client, world):
    r = _post(admin_client, city="București", county="RO-B")
    assert r.status_code == 200
    assert _errors(r) == [("city", "alegeți sectorul adresei din București (Sector 1 - Sector 6)")]


def test_the_county_is_marked_required_and_asked_for_in_romanian(admin_client, world):
    page = admin_client.get(reverse("web:client-add")).content.decode()
    assert re.search(
        r'for="id_county">Județ <span class="muted" aria-hidden="true">\*</span>', page
    )
    r = _post(admin_client, county="")
    assert _errors(r) == [("county", "alegeți județul unei adrese din România")]


def test_a_foreign_address_keeps_a_region_and_no_county(admin_client, world):
    r = _post(
        admin_client, country="DE", city="München", county="", region="Bayern", tax_id="DE129273398"
    )
    assert r.status_code == 302, _errors(r)
    c = Client.objects.get(name="Beta SRL")
    assert (c.country, c.county, c.region) == ("DE", "", "Bayern")


def test_a_wrong_iban_and_a_wrong_email_are_said_once_in_romanian(admin_client, world):
    r = _post(admin_client, iban="RO00XXXX", emails="nu-e-email")
    errors = _errors(r)
    assert errors == [("emails", "nu-e-email nu este o adresă de email validă")], errors
    r = _post(admin_client, iban="RO00XXXX")
    page = html.unescape(r.content.decode())
    assert page.count("RO00XXXX nu este un IBAN valid") == 1, _errors(r)


def test_the_company_settings_take_bucuresti_and_a_sector(admin_client, world):
    company = Company.objects.get(pk=world.company.pk)
    body = {
        "legal_name": company.legal_name, "cui": company.cui, "street": "Bd. Unirii 1",
        "city": "București", "county": "RO-B", "sector": "4", "country": "RO",
        "postal_code": "", "iban": company.iban, "bank": "", "vat_payer": "on",
        "email": company.email, "phone": "", "trade_register": "", "share_capital": "",
    }  # fmt: skip
    r = admin_client.post(reverse("web:settings"), body)
    assert r.status_code == 302, _errors(r)
    company.refresh_from_db()
    assert (company.county, company.city) == ("RO-B", "SECTOR4")
