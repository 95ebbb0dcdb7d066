"""Writes for the client nomenclator."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from recurent.companies.models import Company

from .models import Client


@transaction.atomic
def client_create(*, company: Company, **fields: Any) -> Client:
    client = Client(company=company, **fields)
    client.full_clean()
    client.save()
    return client


@transaction.atomic
def client_update(*, client: Client, **fields: Any) -> Client:
    for k, v in fields.items():
        setattr(client, k, v)
    client.full_clean()
    client.save()
    return client
