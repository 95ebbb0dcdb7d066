"""Writes for the product nomenclator."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from recurent.companies.models import Company

from .models import Product


@transaction.atomic
def product_create(*, company: Company, **fields: Any) -> Product:
    product = Product(company=company, **fields)
    product.full_clean()
    product.save()
    return product


@transaction.atomic
def product_update(*, product: Product, **fields: Any) -> Product:
    for k, v in fields.items():
        setattr(product, k, v)
    product.full_clean()
    product.save()
    return product
