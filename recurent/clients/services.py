"""Writes for the client nomenclator."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from recurent.common.text import invisible_name_errors
from recurent.companies.models import Company

from .models import Client


def client_validate(client: Client, *, exclude: Collection[str] = ()) -> None:
    """Every rule a client meets, as client_create/client_update check it. ``exclude``: fields
    the caller vouches for (the import: ``company``, which is not read again per client)."""
    errors: dict[str, Any] = dict(client.normalize())
    errors.update(invisible_name_errors({"name": client.name}))  # type: ignore[arg-type]
    try:
        # clean() normalizes again (idempotent): its errors are the same fields', not new ones.
        client.full_clean(exclude=[*errors, *exclude], validate_unique=False)
    except ValidationError as e:
        for field, errs in e.error_dict.items():
            errors.setdefault(field, errs)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def client_create(*, company: Company, **fields: Any) -> Client:
    client = Client(company=company, **fields)
    client_validate(client)
    client.save()
    return client


@transaction.atomic
def client_update(*, client: Client, **fields: Any) -> Client:
    for k, v in fields.items():
        setattr(client, k, v)
    client_validate(client)
    client.save()
    return client
