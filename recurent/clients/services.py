"""Writes for the client nomenclator."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from recurent.companies.models import Company

from .models import Client


def _validate(client: Client) -> None:
    errors = client.normalize()
    try:
        client.full_clean(exclude=list(errors))
    except ValidationError as e:
        errors.update(e.message_dict)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def client_create(*, company: Company, **fields: Any) -> Client:
    client = Client(company=company, **fields)
    _validate(client)
    client.save()
    return client


@transaction.atomic
def client_update(*, client: Client, **fields: Any) -> Client:
    for k, v in fields.items():
        setattr(client, k, v)
    _validate(client)
    client.save()
    return client
