"""Webhook endpoints and their delivery log. Administrators only (endpoints hold secrets)."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from ninja import Query, Router, Status

from recurent.common import clock
from recurent.companies.models import Role

from .. import webhooks as wh
from ..auth import caller_of, get_or_404, require_role
from ..models import WebhookDelivery, WebhookEndpoint
from ..problems import Problem
from ..schemas import (
    DeliveryDetailOut,
    DeliveryOut,
    DeliveryPage,
    EndpointCreatedOut,
    EndpointIn,
    EndpointOut,
    EndpointPage,
    EndpointPatch,
    ReplayIn,
    ReplayOut,
)
from .common import MAX_ID, MAX_LIMIT, MAX_OFFSET, Id, page

router = Router(tags=["webhooks"])

State = Literal["pending", "delivered", "failed"]


def _endpoint(request: HttpRequest, endpoint_id: int) -> WebhookEndpoint:
    require_role(request, Role.ADMIN)
    return get_or_404(WebhookEndpoint.objects, request, "webhook endpoint", pk=endpoint_id)


@router.get("/webhooks/endpoints", response=EndpointPage, summary="List webhook endpoints")
def list_endpoints(
    request: HttpRequest,
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict:
    caller = require_role(request, Role.ADMIN)
    qs = WebhookEndpoint.objects.filter(company_id=caller.company_id)
    return page(qs, limit=limit, offset=offset, ordering="pk", tiebreak=())


@router.post(
    "/webhooks/endpoints",
    response={201: EndpointCreatedOut},
    summary="Register an endpoint (the signing secret is shown only in this answer)",
)
def create_endpoint(request: HttpRequest, body: EndpointIn) -> Status:
    caller = require_role(request, Role.ADMIN)
    return Status(
        201, wh.endpoint_create(company=caller.company, as_of=clock.now(), **body.model_dump())
    )


@router.get("/webhooks/endpoints/{endpoint_id}", response=EndpointOut, summary="Get an endpoint")
def get_endpoint(request: HttpRequest, endpoint_id: Id) -> WebhookEndpoint:
    return _endpoint(request, endpoint_id)


@router.patch(
    "/webhooks/endpoints/{endpoint_id}",
    response=EndpointOut,
    summary="Change an endpoint; enabled=false stops its deliveries (they wait)",
)
def update_endpoint(request: HttpRequest, endpoint_id: Id, body: EndpointPatch) -> WebhookEndpoint:
    ep = _endpoint(request, endpoint_id)
    return wh.endpoint_update(endpoint=ep, as_of=clock.now(), **body.model_dump(exclude_unset=True))


@router.post(
    "/webhooks/endpoints/{endpoint_id}/replay",
    response=ReplayOut,
    summary="Send again the deliveries that were given up on",
)
def replay_endpoint(request: HttpRequest, endpoint_id: Id, body: ReplayIn) -> dict:
    ep = _endpoint(request, endpoint_id)
    return {"requeued": wh.endpoint_replay(endpoint=ep, as_of=clock.now(), since=body.since)}


@router.get("/webhooks/deliveries", response=DeliveryPage, summary="The delivery log")
def list_deliveries(
    request: HttpRequest,
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    endpoint_id: int | None = Query(None, ge=1, le=MAX_ID),
    state: State | None = None,
    event_type: str | None = Query(None, max_length=40),
) -> dict:
    caller = require_role(request, Role.ADMIN)
    qs = WebhookDelivery.objects.filter(endpoint__company_id=caller.company_id)
    if endpoint_id is not None:
        qs = qs.filter(endpoint_id=endpoint_id)
    if state:
        qs = qs.filter(state=state)
    if event_type:
        qs = qs.filter(event_type=event_type)
    return page(qs, limit=limit, offset=offset, ordering="-created_at")


def _delivery(request: HttpRequest, delivery_id: int) -> WebhookDelivery:
    caller = require_role(request, Role.ADMIN)
    d = WebhookDelivery.objects.filter(
        pk=delivery_id, endpoint__company_id=caller_of(request).company_id
    ).first()
    if d is None or caller is None:
        raise Problem(404, "not_found", "no such delivery")
    return d


@router.get(
    "/webhooks/deliveries/{delivery_id}",
    response=DeliveryDetailOut,
    summary="One delivery, with the body sent and the last response",
)
def get_delivery(request: HttpRequest, delivery_id: Id) -> WebhookDelivery:
    return _delivery(request, delivery_id)


@router.post(
    "/webhooks/deliveries/{delivery_id}/retry",
    response=DeliveryOut,
    summary="Send one delivery again now",
)
def retry_delivery(request: HttpRequest, delivery_id: Id) -> WebhookDelivery:
    return wh.delivery_retry(delivery=_delivery(request, delivery_id), as_of=clock.now())
