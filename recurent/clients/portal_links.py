"""Signed, expiring links to a client's portal (sent in invoice emails, shown on the client page).

A domain module: mail, online payments and the screens put these links in what they write; the
portal (an interface) only checks them. The revocation counter lives in the portal's model, read by
name so that this module imports no interface.

A token signs ``"<client id>.<key version>"`` with a timestamp. It is valid while it is younger
than ``MAX_AGE_DAYS`` and its key version is the client's current one (``PortalAccess``): the
company revokes every link of a client at once by bumping the version. Tokens of the first
format (client id alone) count as version 0, so they die with the first revocation too.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core import signing
from django.urls import NoReverseMatch, reverse

SALT = "recurent.portal.link"
MAX_AGE_DAYS = 60


class RevokedLink(signing.BadSignature):
    """The signature is right but the company revoked the client's links since."""


def _version(client_id: int) -> int:
    from django.apps import apps

    PortalAccess = apps.get_model("portal", "PortalAccess")  # noqa: N806
    v = (
        PortalAccess.objects.filter(client_id=client_id)
        .values_list("key_version", flat=True)
        .first()
    )
    return v or 0


def portal_token(client_id: int) -> str:
    return signing.TimestampSigner(salt=SALT).sign(f"{client_id}.{_version(client_id)}")


def base_url() -> str:
    """The site's address for every absolute link (emails, PDFs, API answers, the link pages).

    ``RECURENT_BASE_URL`` (setting or environment); ``recurent serve`` sets it to the address it
    listens on when it is unset. The older ``RECURENT_PUBLIC_URL`` is still read after it.
    Read at each call: serve sets the environment after the settings were loaded.
    """
    base = (
        getattr(settings, "RECURENT_BASE_URL", "")
        or os.environ.get("RECURENT_BASE_URL", "")
        or os.environ.get("RECURENT_PUBLIC_URL", "")
        or getattr(settings, "RECURENT_PUBLIC_URL", "")
        or "http://127.0.0.1:8000"
    )
    return base.rstrip("/")


def portal_url(client_id: int) -> str:
    """Absolute URL of the client's portal, on ``base_url()``."""
    return _url(base_url(), portal_token(client_id))


def portal_urls(client_ids: list[int]) -> dict[int, str]:
    """``portal_url`` of several clients with one query (the email sender's batches)."""
    from django.apps import apps

    PortalAccess = apps.get_model("portal", "PortalAccess")  # noqa: N806
    versions = dict(
        PortalAccess.objects.filter(client_id__in=client_ids).values_list(
            "client_id", "key_version"
        )
    )
    signer, base = signing.TimestampSigner(salt=SALT), base_url()
    return {
        cid: _url(base, signer.sign(f"{cid}.{versions.get(cid) or 0}")) for cid in set(client_ids)
    }


def _url(base: str, token: str) -> str:
    try:
        path = reverse("portal:home", kwargs={"token": token})
    except NoReverseMatch:
        path = f"/portal/{token}/"
    return base + path


def client_from_token(token: str) -> int:
    """The client id of a valid link; raises signing.BadSignature / SignatureExpired / RevokedLink."""
    value = signing.TimestampSigner(salt=SALT).unsign(token, max_age=MAX_AGE_DAYS * 86400)
    cid_s, _, ver_s = value.partition(".")
    try:
        client_id, version = int(cid_s), int(ver_s or 0)
    except ValueError:
        raise signing.BadSignature("malformed portal token") from None
    if version != _version(client_id):
        raise RevokedLink("this link was revoked")
    return client_id
