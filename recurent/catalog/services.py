"""Writes for the product nomenclator."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from recurent.common.text import invisible_name_errors
from recurent.companies.models import Company

from .models import Product


def product_validate(product: Product, *, exclude: Collection[str] = ()) -> None:
    """Every rule a product meets, as product_create/product_update check it. ``exclude``:
    fields the caller vouches for (the import: ``company``, and with it the code being once in
    the company, which it checks for the whole file at once)."""
    errors = invisible_name_errors({"name": product.name, "unit_name": product.unit_name})
    if errors:
        raise ValidationError(errors)
    product.full_clean(exclude=exclude or None)


@transaction.atomic
def product_create(*, company: Company, **fields: Any) -> Product:
    product = Product(company=company, **fields)
    product_validate(product)
    product.save()
    return product


@transaction.atomic
def product_update(*, product: Product, **fields: Any) -> Product:
    for k, v in fields.items():
        setattr(product, k, v)
    product_validate(product)
    product.save()
    return product
