"""The e-Factura pages speak the user's language: Romanian by default, English on request;
the services' refusals are shown next to their field in that language."""

from __future__ import annotations

from django.urls import reverse


def in_english(client):
    assert client.post(reverse("web:set-language"), {"language": "en"}).status_code == 302
    return client


def test_the_settings_page_in_romanian_then_in_english(client, world, anaf, connected):
    client.force_login(world.user)
    page = client.get(reverse("efactura:settings")).content.decode()
    for text in ("Conexiunea cu SPV-ul ANAF", "Încarcă automat facturile emise", "Reconectează",
                 "Deconectează", "Facturi de la furnizori în SPV", "conectat"):  # fmt: skip
        assert text in page, text
    in_english(client)
    page = client.get(reverse("efactura:settings")).content.decode()
    for text in ("Connection to ANAF's SPV", "Upload issued invoices automatically",
                 "Reconnect", "Disconnect", "Supplier invoices in SPV", "connected"):  # fmt: skip
        assert text in page, text
    assert "Deconectează" not in page


def test_a_refused_setting_is_explained_next_to_its_field_in_the_users_language(client, world):
    client.force_login(world.user)
    data = {"environment": "test", "client_id": "", "client_secret": "s", "deadline_days": "99"}
    page = client.post(reverse("efactura:settings"), data).content.decode()
    assert "este necesar client id-ul înregistrat la ANAF" in page
    in_english(client)
    page = client.post(reverse("efactura:settings"), data).content.decode()
    assert "the client id registered at ANAF is required" in page
    ok = {**data, "client_id": "app", "deadline_days": "3"}
    page = client.post(reverse("efactura:settings"), ok, follow=True).content.decode()
    assert "e-Factura settings saved." in page


def test_the_supplier_invoices_page_in_both_languages(client, world):
    client.force_login(world.user)
    page = client.get(reverse("efactura:incoming")).content.decode()
    assert "Facturi de la furnizori în SPV" in page and "Nicio factură listată încă." in page
    page = in_english(client).get(reverse("efactura:incoming")).content.decode()
    assert "Supplier invoices in SPV" in page and "None listed yet." in page


def test_the_registry_lookup_explains_a_bad_cui_in_the_users_language(client, world, anaf):
    client.force_login(world.user)
    url = reverse("efactura:registry-lookup")
    r = client.get(url, {"cui": "18547291"})
    assert r.status_code == 400
    assert (
        r.json()["error"]["message"]
        == "'18547291' nu trece verificarea cifrei de control a CUI/CIF"
    )
    r = in_english(client).get(url, {"cui": "18547291"})
    assert r.json()["error"]["message"] == "'18547291' fails the CUI/CIF check digit"
