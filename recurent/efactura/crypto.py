"""Secrets at rest (client secret, tokens): Fernet with a key derived from configuration.

The key comes from env ``RECURENT_ENCRYPTION_KEY`` if set, else from ``settings.SECRET_KEY``.
Both are tried when decrypting, so a deployment can move from the second to the first without
losing its stored tokens. Changing both loses them: the company then reconnects to SPV.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with the configured keys."""


def _derive(material: str) -> Fernet:
    digest = hashlib.sha256(b"recurent-efactura-v1:" + material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _fernet() -> MultiFernet:
    keys = []
    explicit = os.environ.get("RECURENT_ENCRYPTION_KEY", "")
    if explicit:
        keys.append(_derive(explicit))
    if settings.SECRET_KEY:
        keys.append(_derive(settings.SECRET_KEY))
    if not keys:
        raise ImproperlyConfigured(
            "set RECURENT_ENCRYPTION_KEY or SECRET_KEY to store ANAF credentials"
        )
    return MultiFernet(keys)


def encrypt(plain: str) -> str:
    if not plain:
        return ""
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "a stored ANAF secret cannot be decrypted (encryption key changed?)"
        ) from None
