"""Errors as RFC 9457 problem details (``application/problem+json``).

Every problem carries a stable ``code`` (clients branch on it, never on ``title`` or
``detail``), the HTTP ``status``, a human ``detail`` and, for bad input, ``errors``: one
entry per field with its own code and message.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from django.utils import translation

from recurent.common.errors import details_of

PROBLEM_CONTENT_TYPE = "application/problem+json"

TITLES = {
    "bad_request": "The request could not be read",
    "unauthenticated": "A valid API token is required",
    "forbidden": "Your role does not allow this",
    "not_found": "Not found",
    "conflict": "Conflicts with the current state",
    "idempotency_key_reused": "Idempotency-Key reused with another request",
    "validation_error": "Invalid input",
    "not_implemented": "Not available yet",
    "document_not_ready": "The document is not rendered yet",
    "server_error": "Internal error",
}


class Problem(Exception):
    """Raise from a view to answer with a problem document."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str = "",
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(detail or code)
        self.status = status
        self.code = code
        self.detail = detail or TITLES.get(code, code)
        self.errors = errors or []


def problem_body(
    status: int, code: str, detail: str, errors: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    return {
        "type": f"urn:recurent:problem:{code}",
        "title": TITLES.get(code, code.replace("_", " ").capitalize()),
        "status": status,
        "code": code,
        "detail": detail,
        "errors": errors or [],
    }


def problem_response(
    status: int, code: str, detail: str = "", errors: list[dict[str, str]] | None = None
) -> HttpResponse:
    body = problem_body(status, code, detail or TITLES.get(code, code), errors)
    return HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status, content_type=PROBLEM_CONTENT_TYPE
    )


_INDEX = re.compile(r"\[(\d+)\]")
# Services name references by model field and count lines from 1 (for people); the API names
# them as in the request body and counts from 0 (as JSON does).
_SUFFIXES = {".product": ".product_id", ".invoice": ".invoice_id", ".line": ".line_id"}


def field_name(field: str) -> str:
    # Django's whole-object errors come as "__all__"; API clients see them without a field.
    if field in ("__all__", ""):
        return ""
    field = _INDEX.sub(lambda m: f".{int(m.group(1)) - 1}", field)
    for old, new in _SUFFIXES.items():
        if field.endswith(old):
            field = field[: -len(old)] + new
    return field


def from_django(err: DjangoValidationError, rename: dict[str, str] | None = None) -> Problem:
    """A service's ValidationError (``message_dict``) as a 422 with one entry per field."""
    rename = rename or {}
    # The API speaks English whatever the active language; clients branch on the code.
    with translation.override("en"):
        errors = [
            {"field": rename.get(f) or field_name(f), "code": code, "message": str(m)}
            for f, code, m in details_of(err)
        ]
    detail = "; ".join(
        f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors
    )
    return Problem(422, "validation_error", detail, errors)
