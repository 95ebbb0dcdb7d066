"""Signed, expiring links to a client's portal (sent in invoice emails)."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import NoReverseMatch, reverse

SALT = "recurent.portal.link"
MAX_AGE_DAYS = 60


def portal_token(client_id: int) -> str:
    return signing.TimestampSigner(salt=SALT).sign(str(client_id))


def portal_url(client_id: int) -> str:
    """Absolute URL of the client's portal; base from RECURENT_PUBLIC_URL."""
    base = getattr(settings, "RECURENT_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
    token = portal_token(client_id)
    try:
        path = reverse("portal:home", kwargs={"token": token})
    except NoReverseMatch:
        path = f"/portal/{token}/"
    return base + path


def client_from_token(token: str) -> int:
    """The client id of a valid link; raises signing.BadSignature / SignatureExpired."""
    value = signing.TimestampSigner(salt=SALT).unsign(token, max_age=MAX_AGE_DAYS * 86400)
    return int(value)
