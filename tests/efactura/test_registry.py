"""Client data from ANAF's VAT-payer registry: lookup for the client form, and the periodic re-check."""

from __future__ import annotations

import io
import time

from django.core.management import call_command

from recurent.efactura.models import ClientAnafCheck, RegistryAnswer
from recurent.efactura.registry import registry_lookup
from tests import factories as f
from tests.factories import local

from .fake_anaf import registry_item

URL = "/efactura/registry/"


def test_found_fills_every_client_field(client, world, anaf):
    anaf.registry["18547290"] = registry_item("18547290", "RECURENT DEMO SRL")
    client.force_login(world.user)
    r = client.get(URL, {"cui": "RO18547290"})
    assert r.status_code == 200
    data = r.json()
    assert data["found"] is True and data["efactura_registered"] is True
    assert data["fields"] == {
        "kind": "company", "name": "RECURENT DEMO SRL", "tax_id": "RO18547290",
        "trade_register": "J12/1234/2015", "street": "Str. Memorandumului nr. 28", "city": "Cluj-Napoca",
        "county": "RO-CJ", "country": "RO", "postal_code": "400114",
        "vat_on_collection": False, "inactive_at_anaf": False,
    }  # fmt: skip
    # The answer is cached: a second lookup does not call ANAF.
    client.get(URL, {"cui": "18547290"})
    assert len(anaf.registry_calls) == 1
    assert anaf.registry_calls[0][1][0]["cui"] == 18547290


def test_not_found_and_bad_cui(client, world, anaf):
    client.force_login(world.user)
    r = client.get(URL, {"cui": "14399840"})
    assert r.status_code == 404 and r.json() == {"found": False, "cui": "14399840"}
    r = client.get(URL, {"cui": "RO123"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "cui"
    assert len(anaf.registry_calls) == 1


def test_inactive_non_vat_payer_on_collection(client, world, anaf):
    anaf.registry["13548146"] = registry_item("13548146", "INACTIV SRL", vat=False, inactive=True)
    anaf.registry["1590082"] = registry_item("1590082", "INCASARE SA", on_collection=True)
    client.force_login(world.user)
    a = client.get(URL, {"cui": "13548146"}).json()
    assert a["inactive"] is True and a["vat_payer"] is False
    assert a["fields"]["tax_id"] == "13548146" and a["fields"]["inactive_at_anaf"] is True
    b = client.get(URL, {"cui": "RO1590082"}).json()
    assert b["vat_on_collection"] is True and b["fields"]["vat_on_collection"] is True


def test_a_bucharest_address_gets_its_sector_as_city(client, world, anaf):
    anaf.registry["16341004"] = registry_item(
        "16341004", "BUCURESTI SRL", county="B", locality="Sector 3 Mun. Bucureşti",
        street="Bd. Unirii", number="10",
    )  # fmt: skip
    anaf.registry["361579"] = registry_item(
        "361579", "ALT SRL", county="B", locality="Municipiul Bucureşti Sectorul 6"
    )
    client.force_login(world.user)
    fields = client.get(URL, {"cui": "16341004"}).json()["fields"]
    assert (fields["county"], fields["city"]) == ("RO-B", "SECTOR3")
    assert client.get(URL, {"cui": "361579"}).json()["fields"]["city"] == "SECTOR6"
    # And the client it fills passes the client validation.
    from recurent.clients.services import client_create

    c = client_create(company=world.company, **fields)
    assert c.city == "SECTOR3"


def test_the_lookup_needs_a_logged_in_member(client, world, anaf):
    assert client.get(URL, {"cui": "18547290"}).status_code == 401
    client.force_login(f.user())  # no company
    assert client.get(URL, {"cui": "18547290"}).status_code == 403
    assert anaf.registry_calls == []


def test_anaf_down_is_a_503_with_a_reason(client, world, anaf):
    anaf.script("tva", (502, "text/html", b"<html>Bad Gateway</html>"))
    client.force_login(world.user)
    r = client.get(URL, {"cui": "18547290"})
    assert r.status_code == 503 and "HTTP 502" in r.json()["error"]["message"]


def test_at_most_100_cuis_per_call_and_one_call_per_second(world, anaf, settings):
    settings.RECURENT_EFACTURA = {**settings.RECURENT_EFACTURA, "REGISTRY_MIN_INTERVAL": 1.0}
    from stdnum.ro import cui as std_cui

    cuis = []
    n = 1000
    while len(cuis) < 150:
        n += 1
        c = f"{n}{std_cui.calc_check_digit(str(n))}"
        cuis.append(c)
    t = time.monotonic()
    answers = registry_lookup(cuis=cuis, as_of=local(2026, 2, 1))
    assert len(answers) == 150 and not any(a.found for a in answers.values())
    assert [len(asked) for _, asked in anaf.registry_calls] == [100, 50]
    gap = anaf.registry_calls[1][0] - anaf.registry_calls[0][0]
    assert gap >= 0.95 and time.monotonic() - t >= 0.95
    assert RegistryAnswer.objects.count() == 150


def test_refresh_anaf_applies_vat_changes_and_flags_the_rest(world, anaf):
    stays = f.client(
        world.company, tax_id="RO14399840", name="Stabil SRL", street="Bd. Eroilor nr. 1"
    )
    goes = f.client(
        world.company, tax_id="RO13548146", name="Devine Inactiv SRL", street="Bd. Eroilor 1"
    )
    anaf.registry["14399840"] = registry_item(
        "14399840", "Stabil SRL", reg="", street="Bd. Eroilor", number="1"
    )
    anaf.registry["13548146"] = registry_item("13548146", "DEVINE INACTIV SRL", vat=False, inactive=True,
                                              on_collection=True, street="Bd. Eroilor", number="1", reg="")  # fmt: skip
    out = io.StringIO()
    call_command("clients_refresh_anaf", stdout=out)
    goes.refresh_from_db()
    stays.refresh_from_db()
    assert goes.inactive_at_anaf and goes.vat_on_collection and goes.tax_id == "13548146"
    assert not stays.inactive_at_anaf and stays.tax_id == "RO14399840"
    check = ClientAnafCheck.objects.get()
    assert check.client == goes
    assert {c["field"]: c["applied"] for c in check.changes} == {
        "tax_id": True, "vat_on_collection": True, "inactive_at_anaf": True, "street": False,
    }  # fmt: skip
    assert "1 changed" in out.getvalue() and "Devine Inactiv SRL" in out.getvalue()
