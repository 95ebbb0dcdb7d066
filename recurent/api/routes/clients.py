"""Clients (buyers)."""

from __future__ import annotations

from typing import Literal

from django.db.models import Q
from django.http import HttpRequest
from ninja import Query, Router, Status

from recurent.clients.models import Client
from recurent.clients.services import client_create, client_update

from ..auth import caller_of, get_or_404, scoped
from ..client_schemas import ClientIn, ClientOut, ClientPage, ClientPatch
from .common import MAX_LIMIT, MAX_OFFSET, Id, page

router = Router(tags=["clients"])

ClientOrdering = Literal["name", "-name", "created_at", "-created_at"]


@router.get("/clients", response=ClientPage, summary="List clients")
def list_clients(
    request: HttpRequest,
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    ordering: ClientOrdering = "name",
    kind: Literal["company", "individual"] | None = None,
    tax_id: str | None = Query(None, max_length=16),
    search: str | None = Query(None, max_length=100, description="in name or tax id"),
) -> dict:
    qs = scoped(Client.objects, request)
    if kind:
        qs = qs.filter(kind=kind)
    if tax_id:
        qs = qs.filter(tax_id=tax_id)
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(tax_id__icontains=search))
    return page(qs, limit=limit, offset=offset, ordering=ordering)


@router.post("/clients", response={201: ClientOut}, summary="Create a client")
def create_client(request: HttpRequest, body: ClientIn) -> Status:
    return Status(201, client_create(company=caller_of(request).company, **body.model_dump()))


@router.get("/clients/{client_id}", response=ClientOut, summary="Get a client")
def get_client(request: HttpRequest, client_id: Id) -> Client:
    return get_or_404(Client.objects, request, "client", pk=client_id)


@router.patch("/clients/{client_id}", response=ClientOut, summary="Change a client")
def update_client(request: HttpRequest, client_id: Id, body: ClientPatch) -> Client:
    client = get_or_404(Client.objects, request, "client", pk=client_id)
    return client_update(client=client, **body.model_dump(exclude_unset=True))
