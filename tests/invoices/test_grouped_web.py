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


def test_the_storno_page_reverses_one_contracts_line_group(world):
    from recurent.invoices.models import Invoice, InvoiceStatus
    from recurent.invoices.services import issue_due
    from tests import factories as f
    from tests.factories import local

    cl = f.client(world.company, one_invoice_per_client=True)
    cs = [f.contract(world.company, issuer=world.user, client_=cl, first=local(2026, 1, 31))
          for _ in range(2)]  # fmt: skip
    issue_due(as_of=local(2026, 1, 31, 10))
    inv = Invoice.objects.get()
    web = login(world.user)
    url = reverse("web:invoice-storno", args=[inv.pk])
    page = web.get(url).content.decode()
    # Given the page offers each contract's line group, its lines naming their contract
    assert "Doar liniile unui contract" in page
    assert f'<option value="{cs[1].pk}">Contract {cs[1].number}, perioada 31.01.2026' in page
    # When the second contract's group is reversed
    r = web.post(url, {"mode": "group", "contract": str(cs[1].pk)})
    assert r.status_code == 302, r.content.decode()[-2000:]
    credit = Invoice.objects.get(credited_invoice=inv)
    assert [li.contract_id for li in credit.lines.all()] == [cs[1].pk]
    inv.refresh_from_db()
    assert inv.status == InvoiceStatus.PARTIALLY_CREDITED
    # and a contract that is not on the invoice is refused with the reason, nothing written
    r = web.post(url, {"mode": "group", "contract": "999999"})
    assert r.status_code == 400 and "nu are linii pe factura" in r.content.decode()
    assert Invoice.objects.filter(credited_invoice=inv).count() == 1


def test_the_portal_lists_a_grouped_invoice_once_with_its_contracts(client, world):
    from recurent.clients import portal_links as links
    from recurent.invoices.models import Invoice
    from recurent.invoices.services import issue_due
    from tests import factories as f
    from tests.factories import local

    cl = f.client(world.company, one_invoice_per_client=True)
    cs = [f.contract(world.company, issuer=world.user, client_=cl, first=local(2026, 1, 31))
          for _ in range(2)]  # fmt: skip
    issue_due(as_of=local(2026, 1, 31, 10))
    inv = Invoice.objects.get()
    page = client.get(reverse("portal:home", kwargs={"token": links.portal_token(cl.pk)}))
    text = page.content.decode()
    assert page.status_code == 200 and text.count(inv.full_number) == 1
    assert f"Contracte: {cs[0].number}, {cs[1].number}" in text
