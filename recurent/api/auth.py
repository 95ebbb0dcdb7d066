"""Who is calling: a bearer API token, acting as its user in the token's company."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from ninja.security import HttpBearer

from recurent.common import clock
from recurent.companies.api_tokens import api_token_authenticate, may
from recurent.companies.models import ApiToken, Company, Role

from .problems import Problem

_CACHE = "_recurent_api_auth"


@dataclass(frozen=True)
class Caller:
    token: ApiToken
    role: str

    @property
    def company(self) -> Company:
        return self.token.company

    @property
    def company_id(self) -> int:
        return self.token.company_id

    @property
    def user(self) -> Any:
        return self.token.user


def resolve(request: HttpRequest) -> Caller | None:
    """The caller of this request (cached: the idempotency layer and ninja both ask)."""
    if hasattr(request, _CACHE):
        return getattr(request, _CACHE)  # type: ignore[no-any-return]
    caller = None
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() == "bearer" and raw.strip():
        found = api_token_authenticate(raw=raw.strip(), as_of=clock.now())
        if found is not None:
            caller = Caller(token=found[0], role=found[1])
    setattr(request, _CACHE, caller)
    return caller


class TokenAuth(HttpBearer):
    """Authorization: Bearer rct_…; writes need the accountant role, as in the web app."""

    def __call__(self, request: HttpRequest) -> Caller | None:
        caller = resolve(request)
        if caller is None:
            return None
        if not may(caller.role, request.method or "GET"):
            raise Problem(403, "forbidden", f"a {caller.role} token can only read")
        return caller

    def authenticate(self, request: HttpRequest, token: str) -> Caller | None:  # pragma: no cover
        return resolve(request)


def caller_of(request: HttpRequest) -> Caller:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def require_role(request: HttpRequest, role: str) -> Caller:
    caller = caller_of(request)
    if not may(caller.role, request.method or "GET", role):
        raise Problem(403, "forbidden", f"this needs the {Role(role).label} role")
    return caller


def scoped(
    qs: QuerySet[Any] | Any, request: HttpRequest, field: str = "company_id"
) -> QuerySet[Any]:
    """Only the token's company: another company's rows do not exist for this caller (404)."""
    return qs.filter(**{field: caller_of(request).company_id})


def get_or_404(qs: QuerySet[Any] | Any, request: HttpRequest, what: str, **lookup: Any) -> Any:
    obj: Model | None = scoped(qs, request).filter(**lookup).first()
    if obj is None:
        raise Problem(404, "not_found", f"no such {what}")
    return obj
