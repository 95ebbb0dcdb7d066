"""Products (issue 16, item 4): the unit name follows the unit code unless the user typed one."""

from django.urls import reverse

from recurent.catalog.models import Product


def _post(client, **over):
    body = {
        "code": "HOST", "name": "Găzduire", "unit_price": "49.90", "currency": "RON",
        "unit_code": "MON", "unit_name": "buc", "vat_category": "S", "vat_rate": "standard",
        "active": "on",
    }  # fmt: skip
    body.update(over)
    return client.post(reverse("web:product-add"), body)


def test_choosing_month_with_the_forms_default_name_prints_luna(admin_client, world):
    assert _post(admin_client).status_code == 302
    assert Product.objects.get(code="HOST").unit_name == "lună"


def test_an_empty_name_takes_the_codes_name(admin_client, world):
    assert _post(admin_client, unit_code="HUR", unit_name="").status_code == 302
    assert Product.objects.get(code="HOST").unit_name == "oră"


def test_a_name_the_user_typed_is_kept(admin_client, world):
    assert _post(admin_client, unit_name="abonament").status_code == 302
    assert Product.objects.get(code="HOST").unit_name == "abonament"


def test_the_form_gives_the_browser_the_names_to_follow(admin_client, world):
    page = admin_client.get(reverse("web:product-add")).content.decode()
    assert "data-unit-names=" in page and "lun\\u0103" in page
