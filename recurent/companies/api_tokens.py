"""API tokens: created per user and company, shown once, stored hashed, revocable."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy

from recurent.common.errors import field_error
from recurent.companies.models import ApiToken, Company, Membership, Role

TOKEN_PREFIX = "rct_"  # noqa: S105  (a marker, not a secret)
# last_used is written at most this often per token: a busy integration must not turn
# every read into a write (SQLite serialises writers).
LAST_USED_RESOLUTION = timedelta(minutes=1)

# Mirrors recurent.companies.access (viewer < accountant < admin): the same user, the same rights.
RANK = {Role.VIEWER: 0, Role.ACCOUNTANT: 1, Role.ADMIN: 2}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(
    *, user: Any, company: Company, name: str, as_of: datetime
) -> tuple[ApiToken, str]:
    """Returns the token row and the plain token, which is never available again."""
    name = (name or "").strip()
    if not name:
        raise field_error(
            "name",
            gettext_lazy("give the token a name (which system uses it)"),
            "required",
        )
    if len(name) > 100:
        raise field_error("name", gettext_lazy("at most 100 characters"), "max_length")
    if not Membership.objects.filter(user=user, company=company).exists():
        raise field_error(
            "user",
            gettext_lazy("the user has no access to this company"),
            "not_a_member",
        )
    prefix = secrets.token_hex(4)
    raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user, company=company, name=name, prefix=prefix, hash=_digest(raw), created=as_of
    )
    return token, raw


def api_token_revoke(*, token: ApiToken, as_of: datetime) -> ApiToken:
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=as_of)
    token.refresh_from_db(fields=["revoked_at"])
    return token


def api_token_authenticate(*, raw: str, as_of: datetime) -> tuple[ApiToken, str] | None:
    """The live token and its user's current role in the token's company, or None."""
    if not raw.startswith(TOKEN_PREFIX) or raw.count("_") < 2:
        return None
    prefix = raw[len(TOKEN_PREFIX) :].split("_", 1)[0]
    token = (
        ApiToken.objects.select_related("user", "company")
        .filter(prefix=prefix, revoked_at__isnull=True)
        .first()
    )
    # compare_digest: the time taken does not tell an attacker how much of the hash matched.
    if token is None or not hmac.compare_digest(token.hash, _digest(raw)):
        return None
    if not token.user.is_active:
        return None
    role = (
        Membership.objects.filter(user_id=token.user_id, company_id=token.company_id)
        .values_list("role", flat=True)
        .first()
    )
    if role is None:
        return None
    if token.last_used is None or as_of - token.last_used >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used=as_of)
        token.last_used = as_of
    return token, role


def may(role: str, method: str, needed: str = Role.VIEWER) -> bool:
    """The web app's rule: a viewer only reads; any write needs at least an accountant."""
    want = RANK[Role(needed)]
    if method.upper() not in SAFE_METHODS:
        want = max(want, RANK[Role.ACCOUNTANT])
    try:
        return RANK[Role(role)] >= want
    except ValueError:
        return False
