"""Every screen renders for each role; nothing of another company is reachable."""

import pytest
from django.urls import reverse


def page_urls(data):
    return [
        reverse("web:dashboard"),
        reverse("web:products"),
        reverse("web:clients"),
        reverse("web:client", args=[data.client.pk]),
        reverse("web:series"),
        reverse("web:contracts"),
        reverse("web:contract", args=[data.contract.pk]),
        reverse("web:invoices"),
        reverse("web:invoice", args=[data.invoice.pk]),
        reverse("web:password-change"),
    ]


def test_every_page_renders_for_an_admin(admin_client, data):
    for url in page_urls(data) + [
        reverse("web:product-add"), reverse("web:product-edit", args=[data.product.pk]),
        reverse("web:client-add"), reverse("web:client-edit", args=[data.client.pk]),
        reverse("web:series-add"), reverse("web:contract-add"),
        reverse("web:contract-edit", args=[data.contract.pk]), reverse("web:billing-run"), reverse("web:settings"),
    ]:  # fmt: skip
        r = admin_client.get(url)
        assert r.status_code == 200, url


def test_a_viewer_reads_every_list_but_no_form(viewer_client, data):
    for url in page_urls(data):
        assert viewer_client.get(url).status_code == 200, url
    for url in [
        reverse("web:product-add"),
        reverse("web:contract-add"),
        reverse("web:billing-run"),
        reverse("web:settings"),
    ]:
        assert viewer_client.get(url).status_code == 403, url


def test_a_viewer_cannot_change_anything_even_by_crafting_a_post(viewer_client, data):
    from recurent.catalog.models import Product
    from recurent.contracts.models import Contract

    posts = [
        (
            reverse("web:product-add"),
            {
                "code": "X",
                "name": "X",
                "unit_price": "1",
                "currency": "RON",
                "unit_code": "H87",
                "unit_name": "buc",
                "vat_category": "S",
                "vat_rate": "standard",
            },
        ),
        (reverse("web:contract-action", args=[data.contract.pk, "pause"]), {}),
        (reverse("web:contract-action", args=[data.contract.pk, "cancel"]), {}),
        (reverse("web:billing-run"), {"dry_run": ""}),
        # A GET-only list page refuses a viewer's POST too: writes need the accountant role.
        (reverse("web:products"), {}),
        (reverse("web:settings"), {"legal_name": "Hacked"}),
    ]
    for url, body in posts:
        assert viewer_client.post(url, body).status_code == 403, url
    assert not Product.objects.filter(code="X").exists()
    assert Contract.objects.get(pk=data.contract.pk).status == "active"


def test_an_accountant_cannot_open_company_settings(accountant_client, data):
    assert accountant_client.get(reverse("web:settings")).status_code == 403
    assert accountant_client.get(reverse("web:product-add")).status_code == 200


@pytest.mark.parametrize(
    "name,attr",
    [("web:client", "client"), ("web:client-edit", "client"), ("web:product-edit", "product"),
     ("web:contract", "contract"), ("web:contract-edit", "contract"), ("web:invoice", "invoice")],
)  # fmt: skip
def test_another_companys_objects_are_not_found(admin_client, data, other_company, name, attr):
    r = admin_client.get(reverse(name, args=[getattr(other_company, attr).pk]))
    assert r.status_code == 404


def test_another_companys_contract_cannot_be_acted_on(admin_client, data, other_company):
    r = admin_client.post(
        reverse("web:contract-action", args=[other_company.contract.pk, "cancel"])
    )
    assert r.status_code == 404
    other_company.contract.refresh_from_db()
    assert other_company.contract.status == "active"


def test_lists_show_only_the_current_company(admin_client, data, other_company):
    html = admin_client.get(reverse("web:invoices")).content.decode()
    assert data.invoice.full_number in html and other_company.invoice.full_number not in html


def test_a_crafted_session_company_is_ignored(admin_client, data, other_company):
    from recurent.companies.access import SESSION_KEY

    s = admin_client.session
    s[SESSION_KEY] = other_company.company.pk
    s.save()
    html = admin_client.get(reverse("web:clients")).content.decode()
    assert data.client.name in html and other_company.client.name not in html


def test_switching_to_a_company_the_user_is_not_in_is_refused(admin_client, data, other_company):
    r = admin_client.post(reverse("web:switch-company"), {"company": other_company.company.pk})
    assert r.status_code == 403


def test_anonymous_is_sent_to_login(client, db):
    r = client.get("/invoices/")
    assert r.status_code == 302 and r["Location"].startswith("/login/")
