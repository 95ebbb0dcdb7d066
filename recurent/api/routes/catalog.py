"""Products and services (the nomenclator)."""

from __future__ import annotations

from typing import Literal

from django.db.models import Q
from django.http import HttpRequest
from ninja import Query, Router, Status

from recurent.catalog.models import Product
from recurent.catalog.services import product_create, product_update

from ..auth import caller_of, get_or_404, scoped
from ..schemas import ProductIn, ProductOut, ProductPage, ProductPatch
from .common import MAX_LIMIT, MAX_OFFSET, Id, page

router = Router(tags=["products"])

ProductOrdering = Literal[
    "code", "-code", "name", "-name", "unit_price", "-unit_price", "created_at", "-created_at"
]


@router.get("/products", response=ProductPage, summary="List products")
def list_products(
    request: HttpRequest,
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    ordering: ProductOrdering = "code",
    active: bool | None = None,
    search: str | None = Query(None, max_length=100, description="in code or name"),
) -> dict:
    qs = scoped(Product.objects, request)
    if active is not None:
        qs = qs.filter(active=active)
    if search:
        qs = qs.filter(Q(code__icontains=search) | Q(name__icontains=search))
    return page(qs, limit=limit, offset=offset, ordering=ordering)


@router.post("/products", response={201: ProductOut}, summary="Create a product")
def create_product(request: HttpRequest, body: ProductIn) -> Status:
    return Status(201, product_create(company=caller_of(request).company, **body.model_dump()))


@router.get("/products/{product_id}", response=ProductOut, summary="Get a product")
def get_product(request: HttpRequest, product_id: Id) -> Product:
    return get_or_404(Product.objects, request, "product", pk=product_id)


@router.patch("/products/{product_id}", response=ProductOut, summary="Change a product")
def update_product(request: HttpRequest, product_id: Id, body: ProductPatch) -> Product:
    product = get_or_404(Product.objects, request, "product", pk=product_id)
    return product_update(product=product, **body.model_dump(exclude_unset=True))
