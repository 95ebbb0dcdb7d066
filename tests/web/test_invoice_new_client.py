"""Issue 18: "New invoice" for a client not in the list yet: the page links to the client form
(with its ANAF registry autofill) and, once the client is saved, comes back with it chosen."""

import re

from django.urls import reverse

from recurent.clients.models import Client

BODY = {
    "kind": "company", "name": "Nou SRL", "tax_id": "RO14399840", "street": "Str. Lungă 1",
    "city": "Brașov", "county": "RO-BV", "sector": "", "postal_code": "", "country": "RO",
    "region": "", "emails": "office@nou.ro", "iban": "", "bank": "", "payment_term_days": "15",
    "notes": "",
}  # fmt: skip


def test_a_client_added_from_new_invoice_comes_back_chosen(admin_client, world):
    page = admin_client.get(reverse("web:invoice-add")).content.decode()
    link = re.search(r'<a id="new-client" href="([^"]+)"', page)
    assert link and link.group(1) == reverse("web:client-add") + "?then=invoice"
    form = admin_client.get(link.group(1)).content.decode()
    assert "data-registry-url" in form  # the form that fills itself from ANAF's registry
    r = admin_client.post(link.group(1), BODY)
    new = Client.objects.get(name="Nou SRL")
    assert (
        r.status_code == 302 and r["Location"] == reverse("web:invoice-add") + f"?client={new.pk}"
    )
    back = admin_client.get(r["Location"]).content.decode()
    assert re.search(rf'<option value="{new.pk}" selected>', back)
    # Without the return, the client's own page as before; another company's id is ignored.
    r = admin_client.post(reverse("web:client-add"), {**BODY, "name": "Altul SRL",
                                                      "tax_id": "RO13548146"})  # fmt: skip
    assert r["Location"] == reverse("web:client", args=[Client.objects.get(name="Altul SRL").pk])
    other = admin_client.get(reverse("web:invoice-add") + "?client=999999").content.decode()
    choices = other.split('id="id_client"')[1].split("</select>")[0]
    assert not re.search(r'<option value="\d+" selected>', choices)
