"""``Idempotency-Key`` on every POST: the same key and body answer the first result again.

Shape of one keyed POST, inside ONE transaction:
1. insert the key row (token, key, fingerprint of method + path + body) in a savepoint;
   the unique constraint ``idempotency_key_once`` makes a concurrent duplicate wait for
   this transaction and then fail, so it reads the stored answer instead of acting twice;
2. run the operation;
3. a success (2xx) is stored with the key and committed with the operation's own writes;
   an error rolls the key back with everything else, so the client may retry the same key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from recurent.common import clock

from .auth import resolve
from .models import IdempotencyKey
from .problems import problem_response

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# Keys are kept this long; after that the same key acts again (Stripe keeps them 24 hours).
KEEP_FOR = timedelta(hours=24)


def fingerprint(request: HttpRequest) -> str:
    h = hashlib.sha256()
    h.update((request.method or "").encode())
    h.update(b"\n")
    h.update(request.get_full_path().encode())
    h.update(b"\n")
    h.update(request.body)
    return h.hexdigest()


def _replay(row: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(
        bytes(row.body), status=row.status_code or 200, content_type=row.content_type
    )
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(run: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Wraps a ninja operation's ``run`` (the whole request: auth, parsing, view, rendering)."""

    @wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kw: Any) -> HttpResponseBase:
        key = request.headers.get(HEADER)
        if key is None or request.method != "POST":
            return run(request, *args, **kw)
        caller = resolve(request)
        if caller is None:
            return run(request, *args, **kw)  # ninja answers 401
        if not (0 < len(key) <= MAX_KEY_LENGTH) or not key.isprintable() or not key.isascii():
            return problem_response(
                422,
                "validation_error",
                f"{HEADER}: 1 to {MAX_KEY_LENGTH} printable ASCII characters",
                [
                    {
                        "field": HEADER,
                        "code": "invalid",
                        "message": "1 to 255 printable ASCII characters",
                    }
                ],
            )
        fp = fingerprint(request)
        now = clock.now()
        with transaction.atomic():
            try:
                with transaction.atomic():
                    IdempotencyKey.objects.filter(
                        token=caller.token, key=key, created_at__lt=now - KEEP_FOR
                    ).delete()
                    row = IdempotencyKey.objects.create(
                        token=caller.token,
                        key=key,
                        fingerprint=fp,
                        method=request.method,
                        path=request.get_full_path()[:500],
                        created_at=now,
                    )
            except IntegrityError:
                row = None
            if row is None:
                first = IdempotencyKey.objects.get(token=caller.token, key=key)
                if first.fingerprint != fp:
                    return problem_response(
                        409,
                        "idempotency_key_reused",
                        f"this {HEADER} was first used with another method, path or body "
                        f"({first.method} {first.path}); use a new key for a new request",
                    )
                return _replay(first)
            response = run(request, *args, **kw)
            if not 200 <= response.status_code < 300 or not isinstance(response, HttpResponse):
                transaction.set_rollback(True)
                return response
            row.status_code = response.status_code
            row.content_type = response.get("Content-Type", "application/json")
            row.body = response.content
            row.save(update_fields=["status_code", "content_type", "body"])
            return response

    wrapper._idempotent = True  # type: ignore[attr-defined]
    return wrapper


def idempotency_purge(*, limit: int = 1000) -> int:
    """Forget keys older than KEEP_FOR (a worker task)."""
    cutoff = clock.now() - KEEP_FOR
    ids = list(
        IdempotencyKey.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:limit]
    )
    if ids:
        IdempotencyKey.objects.filter(pk__in=ids).delete()
    return len(ids)
