"""Writes for the product nomenclator."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from recurent.common.text import invisible_name_errors
from recurent.companies.models import Company

from .models import Product


def _visible_names(product: Product) -> None:
    errors = invisible_name_errors({"name": product.name, "unit_name": product.unit_name})
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def product_create(*, company: Company, **fields: Any) -> Product:
    product = Product(company=company, **fields)
    _visible_names(product)
    product.full_clean()
    product.save()
    return product


@transaction.atomic
def product_update(*, product: Product, **fields: Any) -> Product:
    for k, v in fields.items():
        setattr(product, k, v)
    _visible_names(product)
    product.full_clean()
    product.save()
    return product
