"""The short client and product forms opened from the contract form (no leaving the contract to
create them first): the same fields and checks as the full forms, fewer of them."""

from __future__ import annotations

from django.forms import BaseForm

from recurent.web.forms import ClientForm, ProductForm

CLIENT_PREFIX, PRODUCT_PREFIX = "qc", "qp"


class QuickClientForm(ClientForm):
    class Meta(ClientForm.Meta):
        fields = [
            "kind", "name", "tax_id", "street", "city", "county", "postal_code", "country",
            "emails",
        ]  # fmt: skip

    field_order = [
        "kind", "tax_id", "name", "street", "city", "county", "sector", "postal_code", "country",
        "emails",
    ]  # fmt: skip


class QuickProductForm(ProductForm):
    class Meta(ProductForm.Meta):
        fields = [
            "code", "name", "unit_price", "currency", "unit_code", "unit_name", "vat_category",
            "vat_rate",
        ]  # fmt: skip


def quick_forms() -> dict[str, BaseForm]:
    """The unbound dialogs the contract form page renders."""
    return {
        "quick_client": QuickClientForm(prefix=CLIENT_PREFIX),
        "quick_product": QuickProductForm(prefix=PRODUCT_PREFIX),
    }
