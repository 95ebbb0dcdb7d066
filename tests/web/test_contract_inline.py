"""Issue 16: a client and a product made from the contract form (the dialogs' endpoints)."""

import pytest
from django.urls import reverse

from recurent.catalog.models import Product
from recurent.clients.models import Client
from recurent.companies.models import Role
from tests import factories as f
from tests.web.conftest import client_for, login

pytestmark = pytest.mark.django_db

CLIENT = {
    "qc-kind": "company", "qc-name": "Client Inline SRL", "qc-tax_id": "RO18547290",
    "qc-street": "Str. Mare 2", "qc-city": "Cluj-Napoca", "qc-county": "RO-CJ", "qc-country": "RO",
    "qc-emails": "contabil@inline.ro",
}  # fmt: skip
PRODUCT = {
    "qp-code": "ABON", "qp-name": "Abonament lunar", "qp-unit_price": "99.50", "qp-currency": "RON",
    "qp-unit_code": "MON", "qp-unit_name": "", "qp-vat_category": "S", "qp-vat_rate": "standard",
}  # fmt: skip


def ro(user):
    c = login(user)
    c.cookies["django_language"] = "ro"
    return c


def test_the_contract_form_offers_both_dialogs():
    company, series, user = f.setup_company()
    body = ro(user).get(reverse("web:contract-add")).content.decode()
    assert 'id="quick-client"' in body and 'id="quick-product"' in body
    assert "Client nou" in body and "Adaugă și alege" in body
    # The dialogs sit outside the contract form (a form cannot hold another).
    assert body.index('id="quick-client"') > body.index("</form>")


def test_a_client_made_inline_is_saved_in_this_company_and_answered_for_the_select():
    company, series, user = f.setup_company()
    r = ro(user).post(reverse("web:contract-quick-client"), CLIENT)
    assert r.status_code == 201
    cl = Client.objects.get(pk=r.json()["id"])
    assert (cl.company_id, cl.name, cl.emails) == (
        company.pk,
        "Client Inline SRL",
        ["contabil@inline.ro"],
    )
    assert r.json()["label"] == "Client Inline SRL"


def test_a_refused_client_comes_back_with_romanian_errors_and_nothing_saved():
    company, series, user = f.setup_company()
    url = reverse("web:contract-quick-client")
    r = ro(user).post(url, {**CLIENT, "qc-emails": "x@"})  # refused by the form
    assert r.status_code == 400 and "x@ nu este o adresă de email validă" in r.content.decode()
    r = ro(user).post(url, {**CLIENT, "qc-tax_id": "RO18547291"})  # refused by the service
    body = r.content.decode()
    assert r.status_code == 400 and 'id="id_qc-tax_id"' in body
    assert "nu este un CUI/CIF valid" in body
    assert not Client.objects.filter(name="Client Inline SRL").exists()


def test_a_product_made_inline_carries_price_vat_and_the_unit_name_follows_the_code():
    company, series, user = f.setup_company()
    r = ro(user).post(reverse("web:contract-quick-product"), PRODUCT)
    assert r.status_code == 201, r.content.decode()[:2000]
    o = r.json()
    p = Product.objects.get(pk=o["id"])
    assert (p.company_id, p.code, p.unit_name) == (company.pk, "ABON", "lună")
    assert (o["price"], o["vat"], o["currency"]) == ("99.50", "21", "RON")
    r = ro(user).post(reverse("web:contract-quick-product"), {**PRODUCT, "qp-unit_price": "-1"})
    assert r.status_code == 400 and Product.objects.filter(code="ABON").count() == 1


def test_a_viewer_cannot_create_from_the_dialogs(world):
    c = client_for(world, Role.VIEWER)
    assert c.post(reverse("web:contract-quick-client"), CLIENT).status_code == 403
    assert c.post(reverse("web:contract-quick-product"), PRODUCT).status_code == 403
    assert not Client.objects.filter(name="Client Inline SRL").exists()
