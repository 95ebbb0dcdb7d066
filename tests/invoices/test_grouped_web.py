"""The client form's "one invoice for all contracts" option (issue 18), in Romanian."""

from django.urls import reverse

from recurent.clients.models import Client
from tests.web.conftest import login

FORM = {
    "kind": "company", "name": "Beta SRL", "tax_id": "RO14399840", "street": "Str. Lungă 1",
    "city": "Brașov", "county": "RO-BV", "sector": "", "postal_code": "", "country": "RO",
    "region": "", "emails": "office@beta.ro", "iban": "", "bank": "", "payment_term_days": "15",
    "notes": "",
}  # fmt: skip


def test_the_client_form_sets_and_clears_one_invoice_per_client(world):
    web = login(world.user)
    page = web.get(reverse("web:client-add")).content.decode()
    assert 'name="one_invoice_per_client"' in page
    assert "O singură factură pentru toate contractele" in page  # the label, capitalised
    r = web.post(reverse("web:client-add"), {**FORM, "one_invoice_per_client": "on"})
    assert r.status_code == 302
    c = Client.objects.get(name="Beta SRL")
    assert c.one_invoice_per_client is True
    r = web.post(reverse("web:client-edit", args=[c.pk]), FORM)  # the box left unticked
    assert r.status_code == 302
    c.refresh_from_db()
    assert c.one_invoice_per_client is False
